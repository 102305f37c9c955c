"""Check that SSIM's float32 sums give the float64 figures: per image and per set, bicubic at x2/x3/x4.

    python scripts/ssim_precision.py data/BSD200 data/Set14

For each HR image (cropped to a multiple of the scale), the MATLAB-bicubic LR (8-bit) and its bicubic
upscaling are scored on Y with the border cropped, as `eval.py model=bicubic` scores them, by
`srlab.metrics.ssim` and by the same formula in float64 throughout. Prints the largest difference per
image, the images whose SSIM differs in the 4th decimal, and each set's mean both ways.
"""

import sys
from pathlib import Path

import torch
from torch import Tensor

from srlab.data.images import list_images, read_image
from srlab.metrics import eval_plane, ssim
from srlab.ops import gaussian_filter, imresize


def ssim_float64(a: Tensor, b: Tensor) -> Tensor:
    a, b = a.double(), b.double()
    mu_a, mu_b, aa, bb, ab = gaussian_filter(torch.cat([a, b, a * a, b * b, a * b]), 11, 1.5).split(a.shape[0])
    var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


@torch.inference_mode()
def main(folders: list[Path]) -> None:
    worst, flips = 0.0, []
    print("| set | scale | images | mean SSIM (float32 sums) | mean SSIM (float64) |\n|---|---|---|---|---|")
    for folder in folders:
        files = list_images([folder])
        for scale in (2, 3, 4):
            ours, reference = [], []
            for path in files:
                pixels, grey = read_image(path)
                hr = torch.tensor(pixels).permute(2, 0, 1)[None].float() / 255
                hr = hr[..., : hr.shape[-2] // scale * scale, : hr.shape[-1] // scale * scale]
                sr = imresize(imresize(hr, 1 / scale, uint8=True), scale).clamp(0, 1)
                grey_t = torch.tensor([grey])
                a = eval_plane(sr, grey_t)[..., scale:-scale, scale:-scale]
                b = eval_plane(hr, grey_t)[..., scale:-scale, scale:-scale]
                ours.append(ssim(a, b).item())
                reference.append(ssim_float64(a, b).item())
                worst = max(worst, abs(ours[-1] - reference[-1]))
                if f"{ours[-1]:.4f}" != f"{reference[-1]:.4f}":
                    flips.append(f"{path.name} x{scale}: {ours[-1]:.6f} vs {reference[-1]:.6f}")
            print(f"| {folder.name} | x{scale} | {len(files)} | {sum(ours) / len(ours):.6f} | "
                  f"{sum(reference) / len(reference):.6f} |", flush=True)  # fmt: skip
    print(f"largest per-image difference: {worst:.2e}; per-image figures that differ in the 4th decimal: "
          f"{len(flips)}" + "".join(f"\n  {f}" for f in flips))  # fmt: skip


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
