"""PSNR and SSIM as SR papers report them.

Protocol: the SR output is clamped and quantised to 8 bits as a saved image would be; colour
images are scored on Y from MATLAB's `rgb2ycbcr` on uint8 (so Y is rounded to integers), grey
images on their grey channel; `border` pixels (the scale) are cropped from each side; SSIM uses an
11x11 Gaussian window with sigma 1.5 over the valid region (Wang et al. 2004). Per-image values are
averaged over the images of a set.
"""

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.functional.image import structural_similarity_index_measure

from srlab.ops import rgb_to_y


def eval_plane(img: Tensor, grey: Tensor) -> Tensor:
    """The plane that is scored, in grey levels 0..255 (integers, float64).

    `img` is (B, 3, H, W) RGB or (B, 1, H, W) Y in [0, 1]; `grey` (B,) marks grey-scale images,
    scored on their first channel instead of Y. (B, C, H, W) -> (B, 1, H, W)
    """
    x = img.double().clamp(0, 1).mul(255).round()
    if x.shape[1] == 1:
        return x
    y = rgb_to_y(x / 255).mul(255).round()
    return torch.where(grey.view(-1, 1, 1, 1).to(x.device, torch.bool), x[:, :1], y)


def _crop(x: Tensor, border: int) -> Tensor:
    return x[..., border : x.shape[-2] - border, border : x.shape[-1] - border] if border > 0 else x


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Per-image PSNR in dB of 0..255 planes: (B, 1, H, W) x 2 -> (B,)."""
    mse = (a - b).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255.0**2 / mse.clamp_min(1e-10))


def ssim(a: Tensor, b: Tensor) -> Tensor:
    """Per-image SSIM of 0..255 planes, Gaussian 11x11 window, sigma 1.5: (B, 1, H, W) x 2 -> (B,).

    Averaged over the valid windows only, as Wang et al.'s `ssim_index.m`: torchmetrics reflects the
    image by 5 pixels to keep its size, so those 5 pixels are cropped from its SSIM map. Computed in
    float64: E[x^2] - E[x]^2 on 0..255 values loses too much in float32.
    """
    _, ssim_map = structural_similarity_index_measure(
        a.double(), b.double(), gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=255.0, return_full_image=True
    )
    return _crop(ssim_map, 5).flatten(1).mean(1)


class SRQuality(Metric):
    """Mean per-image PSNR and SSIM over a set of images; `compute()` gives {"psnr", "ssim"}.

    Sums and counts reduce by summation across processes, so each image counts once whatever the
    number of processes, provided the sampler gives each image to one process.
    """

    full_state_update = False

    def __init__(self, border: int) -> None:
        super().__init__()
        self.border = border
        self.add_state("psnr_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("ssim_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, sr: Tensor, hr: Tensor, grey: Tensor) -> None:
        a = _crop(eval_plane(sr, grey), self.border)
        b = _crop(eval_plane(hr, grey), self.border)
        self.psnr_sum += psnr(a, b).sum()
        self.ssim_sum += ssim(a, b).sum()
        self.count += a.shape[0]

    def compute(self) -> dict[str, Tensor]:
        n = self.count.clamp_min(1)
        return {"psnr": (self.psnr_sum / n).float(), "ssim": (self.ssim_sum / n).float()}
