"""Super-resolve images with a trained net, or export it: `python upscale.py ckpt_path=... input=... output=...`."""

import os
from pathlib import Path

os.environ.setdefault("SRLAB_ROOT", str(Path(__file__).resolve().parent))  # data/ and logs/ of this repository

from srlab.cli.main import upscale_cli  # noqa: E402

if __name__ == "__main__":
    upscale_cli()
