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

from srlab.ops import gaussian_filter, rgb_to_y


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


def scored_image(out: Tensor, rgb: Tensor, grey: Tensor) -> Tensor:
    """What of a net's output is scored: a Y output itself, as the papers score Y nets, unless the
    batch holds a grey image (`grey`, (B,) bool), scored on the grey channel of the RGB output `rgb`."""
    return out if out.shape[1] == 1 and not bool(grey.any()) else rgb


def _crop(x: Tensor, border: int) -> Tensor:
    return x[..., border : x.shape[-2] - border, border : x.shape[-1] - border] if border > 0 else x


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Per-image PSNR in dB of 0..255 planes: (B, 1, H, W) x 2 -> (B,)."""
    mse = (a - b).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255.0**2 / mse.clamp_min(1e-10))


def ssim(a: Tensor, b: Tensor, window: int = 11, sigma: float = 1.5) -> Tensor:
    """Per-image SSIM of 0..255 planes (Wang et al. 2004): (B, 1, H, W) x 2 -> (B,).

    Gaussian window (separable, `window` taps, `sigma`), K = (0.01, 0.03), L = 255, averaged over
    the valid windows only, as `ssim_index.m`. The local sums run in float32 (several times faster than
    float64 on a CPU) on the grey levels less each image's rounded mean: the levels and their products
    stay exact integers, and E[x^2] - E[x]^2 keeps its precision, which plain float32 on 0..255 loses
    (`tests/test_metrics.py`); the formula itself runs in float64.
    """
    shift = torch.cat([a, b], 1).flatten(1).mean(1).round().view(-1, 1, 1, 1)
    a, b = (a - shift).float(), (b - shift).float()
    stats = gaussian_filter(torch.cat([a, b, a * a, b * b, a * b]), window, sigma).double()
    mu_a, mu_b, aa, bb, ab = stats.split(a.shape[0])
    var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
    mu_a, mu_b = mu_a + shift, mu_b + shift
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def image_quality(sr: Tensor, hr: Tensor, grey: Tensor, border: int) -> tuple[Tensor, Tensor]:
    """Per-image PSNR and SSIM with the paper protocol: (B, C, H, W) x 2 -> (B,), (B,)."""
    a, b = _crop(eval_plane(sr, grey), border), _crop(eval_plane(hr, grey), border)
    return psnr(a, b), ssim(a, b)


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
        p, s = image_quality(sr, hr, grey, self.border)
        self.psnr_sum += p.sum()
        self.ssim_sum += s.sum()
        self.count += p.shape[0]

    def compute(self) -> dict[str, Tensor]:
        n = self.count.clamp_min(1)
        return {"psnr": (self.psnr_sum / n).float(), "ssim": (self.ssim_sum / n).float()}
