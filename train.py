"""Train a super-resolution model: `python train.py model=fsrcnn data.scale=3` (see README.md)."""

import os
from pathlib import Path

os.environ.setdefault("SRLAB_ROOT", str(Path(__file__).resolve().parent))

import hydra
from omegaconf import DictConfig

from srlab.cli.errors import check_command_line, reported_errors
from srlab.cli.train import train


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    with reported_errors():
        metrics = train(cfg)
    return metrics.get(cfg.get("optimized_metric") or "", None)


if __name__ == "__main__":
    check_command_line()
    main()
