"""Evaluate a checkpoint on the benchmark sets: `python eval.py ckpt_path=... data=benchmark` (see README.md)."""

import os
from pathlib import Path

os.environ.setdefault("SRLAB_ROOT", str(Path(__file__).resolve().parent))  # data/ and logs/ of this repository

from srlab.cli.main import eval_cli  # noqa: E402

if __name__ == "__main__":
    eval_cli()
