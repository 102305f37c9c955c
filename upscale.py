"""Super-resolve images with a trained net, or export it: `python upscale.py ckpt_path=... input=... output=...`."""

import os
from pathlib import Path

os.environ.setdefault("SRLAB_ROOT", str(Path(__file__).resolve().parent))

import hydra
from omegaconf import DictConfig

from srlab.cli.errors import check_command_line, reported_errors
from srlab.cli.upscale import upscale


@hydra.main(version_base="1.3", config_path="conf", config_name="upscale")
def main(cfg: DictConfig) -> None:
    with reported_errors():
        upscale(cfg)


if __name__ == "__main__":
    check_command_line()
    main()
