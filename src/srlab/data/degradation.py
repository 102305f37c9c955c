"""Degradation from HR to LR, batched on the device: optional blur, bicubic down, optional noise."""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from srlab.ops import gaussian_filter, imresize


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """Blur (B, C, H, W) with an isotropic Gaussian of `sigma` pixels (kernel 2*ceil(3 sigma)+1)."""
    radius = math.ceil(3 * sigma)
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")  # keep the size
    return gaussian_filter(x, 2 * radius + 1, sigma)


def degrade(
    hr: Tensor,
    scale: int,
    blur_sigma: float = 0.0,
    noise_sigma: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """LR image from 8-bit HR values in [0, 1], rounded to 8 bits as a saved LR file would be.

    `noise_sigma` is in grey levels (0..255); blur and noise are off at 0.
    """
    x = gaussian_blur(hr, blur_sigma) if blur_sigma > 0 else hr
    lr = imresize(x, 1 / scale, uint8=blur_sigma == 0)  # (B, C, H, W) -> (B, C, H/s, W/s)
    if noise_sigma > 0:
        noise = torch.randn(lr.shape, generator=generator, device=lr.device, dtype=lr.dtype)
        lr = lr + noise * (noise_sigma / 255)
    return lr.mul(255).round().clamp(0, 255).div(255)
