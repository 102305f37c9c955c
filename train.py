"""Train a super-resolution model: `python train.py model=fsrcnn data.scale=3` (see README.md)."""

import os
from pathlib import Path

os.environ.setdefault("SRLAB_ROOT", str(Path(__file__).resolve().parent))  # data/ and logs/ of this repository

from srlab.cli.main import train_cli  # noqa: E402

if __name__ == "__main__":
    train_cli()
