"""Colour conversion as MATLAB's `rgb2ycbcr` / `ycbcr2rgb` (ITU-R BT.601, studio range).

Images are float tensors (B, 3, H, W) in [0, 1]; Y lies in [16/255, 235/255] as in MATLAB.
"""

import torch
from torch import Tensor

# Rows give Y, Cb, Cr from R, G, B in [0, 1], in units of grey levels (0..255).
_RGB_TO_YCBCR = torch.tensor(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=torch.float64,
)
_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64)


def _apply(matrix: Tensor, x: Tensor) -> Tensor:
    return torch.einsum("oc,bchw->bohw", matrix.to(x), x)


def rgb_to_ycbcr(x: Tensor) -> Tensor:
    # (B, 3, H, W) -> (B, 3, H, W)
    return (_apply(_RGB_TO_YCBCR, x) + _OFFSET.to(x).view(1, 3, 1, 1)) / 255


def ycbcr_to_rgb(x: Tensor) -> Tensor:
    # (B, 3, H, W) -> (B, 3, H, W)
    inverse = torch.linalg.inv(_RGB_TO_YCBCR) * 255
    return _apply(inverse, x - _OFFSET.to(x).view(1, 3, 1, 1) / 255)


def rgb_to_y(x: Tensor) -> Tensor:
    # (B, 3, H, W) -> (B, 1, H, W)
    return (_apply(_RGB_TO_YCBCR[:1], x) + 16.0) / 255
