"""Separable Gaussian filtering of (B, C, H, W) tensors."""

import torch
import torch.nn.functional as F
from torch import Tensor


def gaussian_kernel(size: int, sigma: float, like: Tensor) -> Tensor:
    """The normalised 1-D Gaussian of `size` taps, in `like`'s dtype and device."""
    t = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_filter(x: Tensor, size: int, sigma: float) -> Tensor:
    """Each channel filtered by a `size` x `size` Gaussian over valid windows only.

    (B, C, H, W) -> (B, C, H - size + 1, W - size + 1)
    """
    c = x.shape[1]
    g = gaussian_kernel(size, sigma, x)
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
