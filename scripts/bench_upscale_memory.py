"""Peak memory of `python upscale.py` on one large image, measured in a subprocess.

    python scripts/bench_upscale_memory.py                       # 6000x6000 x4 FSRCNN, random weights
    python scripts/bench_upscale_memory.py --size 1500 tile=256  # other size; extra upscale.py overrides
    python scripts/bench_upscale_memory.py --model bicubic       # a model without weights, no checkpoint

The input is a smooth synthetic RGB PNG (written by this process, so it does not count). The peak is
the largest resident set of the upscale.py process, from `resource.getrusage(RUSAGE_CHILDREN)`.
Prints one JSON line: size, scale, peak bytes, bytes per output pixel, seconds, the command's exit code.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
FSRCNN = {"_target_": "srlab.models.FSRCNN", "in_channels": 1, "out_channels": 1, "d": 56, "s": 12, "m": 4}


def synthetic_image(size: int, seed: int = 0) -> np.ndarray:
    """A (size, size, 3) uint8 image: smooth waves plus a little noise, so that PNG compresses it as a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.ogrid[:size, :size]
    img = np.empty((size, size, 3), np.uint8)
    for c in range(3):
        wave = np.sin(x * rng.uniform(0.005, 0.05) + c) * np.cos(y * rng.uniform(0.005, 0.05))
        img[..., c] = np.clip(128 + 100 * wave + rng.normal(0, 4, (size, size)), 0, 255).astype(np.uint8)
    return img


def fsrcnn_checkpoint(path: Path, scale: int, seed: int = 0) -> Path:
    """A checkpoint laid out as train.py writes it, for an FSRCNN with random weights."""
    from srlab.models import FSRCNN as Net

    torch.manual_seed(seed)
    config = FSRCNN | {"scale": scale}
    net = Net(**{k: v for k, v in config.items() if k != "_target_"})
    torch.save({"state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}, "net_config": config}, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=6000, help="LR width and height (default 6000)")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--model", help="a model config without weights (e.g. bicubic) instead of a random FSRCNN")
    parser.add_argument("overrides", nargs="*", help="more upscale.py overrides, e.g. tile=256 max_memory=4GB")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_upscale_") as tmp:
        tmp = Path(tmp)
        cv2.imwrite(str(tmp / "input.png"), synthetic_image(args.size))
        if args.model:
            net = [f"model={args.model}", f"data.scale={args.scale}"]
        else:
            net = [f"ckpt_path={fsrcnn_checkpoint(tmp / 'fsrcnn.ckpt', args.scale)}"]
        command = [
            sys.executable, str(ROOT / "upscale.py"), *net, f"input={tmp / 'input.png'}", f"output={tmp / 'out'}",
            f"paths.log_dir={tmp / 'logs'}", *args.overrides,
        ]  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=ROOT, check=False)
        seconds = time.perf_counter() - start
        # ru_maxrss is in KiB on Linux, in bytes on macOS.
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    out_pixels = (args.scale * args.size) ** 2
    result = {
        "size": args.size,
        "scale": args.scale,
        "peak_bytes": peak,
        "peak_gb": round(peak / 1e9, 3),
        "bytes_per_output_pixel": round(peak / out_pixels, 2),
        "seconds": round(seconds, 1),
        "returncode": proc.returncode,
    }
    print(json.dumps(result))
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
