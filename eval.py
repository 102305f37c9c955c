"""Evaluate a checkpoint on the benchmark sets: `python eval.py ckpt_path=... data=benchmark` (see README.md)."""

import os
from pathlib import Path

os.environ.setdefault("SRLAB_ROOT", str(Path(__file__).resolve().parent))

import hydra
from omegaconf import DictConfig

from srlab.cli.errors import check_command_line, reported_errors
from srlab.cli.evaluate import evaluate


@hydra.main(version_base="1.3", config_path="conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    with reported_errors():
        evaluate(cfg)


if __name__ == "__main__":
    check_command_line()
    main()
