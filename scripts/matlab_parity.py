"""Compare srlab's bicubic downscaling with LR images that MATLAB made.

    python scripts/matlab_parity.py ../shared/data/matlab_lr/Set5

The folder holds x2/, x3/, x4/ with `<name>_HR.png` (already cropped to a multiple of the scale) and
`<name>_LR.png` from MATLAB's `imresize(HR, 1/s, 'bicubic')`. Prints, per scale, the share of equal
8-bit values and the largest difference.
"""

import sys
from pathlib import Path

import torch

from srlab.data.images import read_image
from srlab.ops import imresize


def main(root: Path) -> None:
    print("| scale | images | values equal | max difference |\n|---|---|---|---|")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        scale = int(folder.name.lstrip("x"))
        equal = total = worst = 0
        files = sorted(folder.glob("*_HR.png"))
        for hr_file in files:
            hr = torch.tensor(read_image(hr_file)[0]).permute(2, 0, 1)[None].float() / 255
            lr = torch.tensor(read_image(hr_file.with_name(hr_file.name.replace("_HR", "_LR")))[0]).int()
            ours = (imresize(hr, 1 / scale, uint8=True) * 255).round().int()[0].permute(1, 2, 0)
            diff = (ours - lr).abs()
            equal, total, worst = equal + int((diff == 0).sum()), total + diff.numel(), max(worst, int(diff.max()))
        print(f"| x{scale} | {len(files)} | {100 * equal / total:.3f}% | {worst} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
