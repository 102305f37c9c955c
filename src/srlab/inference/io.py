"""Reading images for inference and writing results in kind: grey stays grey, alpha and 16 bits survive.

Files are read by `srlab.data.images.decode_image`, the reader of training and evaluation too (EXIF
orientation applied, bit depth from the file); OpenCV encodes here.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from srlab.data.images import decode_image
from srlab.ops import rgb_to_y

_PEAK = {8: 255.0, 16: 65535.0}


@dataclass
class DecodedImage:
    """An image as the upscaler takes it, and what is needed to write the result back in kind."""

    rgb: Tensor  # (1, 3, h, w) float32 in [0, 1]; grey images are replicated to three channels
    alpha: Tensor | None  # (1, 1, h, w) float32 in [0, 1]
    grey: bool
    bits: int  # 8 or 16


def read_image(path: Path) -> DecodedImage:
    """Decode an image file (see `decode_image`) to float tensors in [0, 1]."""
    image = decode_image(path)

    def to_tensor(pixels: np.ndarray) -> Tensor:  # (h, w, C) -> (1, C, h, w)
        return torch.from_numpy(pixels.transpose(2, 0, 1).astype(np.float32) / _PEAK[image.bits])[None]

    rgb = to_tensor(image.colour)
    if image.grey:
        rgb = rgb.expand(-1, 3, -1, -1).contiguous()
    alpha = None if image.alpha is None else to_tensor(image.alpha[..., None])
    # OpenCV writes no grey+alpha files: those are written back as RGBA.
    return DecodedImage(rgb=rgb, alpha=alpha, grey=image.grey and alpha is None, bits=image.bits)


def to_levels(rgb: Tensor, alpha: Tensor | None = None, grey: bool = False, bits: int = 8) -> Tensor:
    """(1, 3, H, W) RGB in [0, 1] (and (1, 1, H, W) alpha) -> (1, C, H, W) uint8 or uint16 levels.

    The channels are RGB, or with `grey` one channel, the luma of `rgb` on the full [0, 1] range
    (exactly the value of a grey image's three equal channels); then alpha. `bits` is 8 or 16.
    """
    if bits not in _PEAK:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    # Y of MATLAB's rgb2ycbcr spans [16, 235] / 255; its weights sum to 219 / 255.
    channels = (rgb_to_y(rgb) - 16 / 255) * (255 / 219) if grey else rgb
    if alpha is not None:
        channels = torch.cat([channels, alpha], dim=1)
    return channels.float().clamp(0, 1).mul(_PEAK[bits]).round().to(torch.uint8 if bits == 8 else torch.uint16)


def write_image(path: Path, rgb: Tensor, alpha: Tensor | None = None, grey: bool = False, bits: int = 8) -> None:
    """Encode (1, 3, H, W) RGB in [0, 1] (and (1, 1, H, W) alpha) to `path`, by its suffix, as `to_levels`."""
    levels = to_levels(rgb, alpha, grey, bits)[0].permute(1, 2, 0).cpu().numpy()
    if levels.shape[-1] >= 3:
        levels = levels[..., [2, 1, 0, 3][: levels.shape[-1]]]  # OpenCV's BGR order
    if not cv2.imwrite(str(path), levels[..., 0] if levels.shape[-1] == 1 else levels):
        raise OSError(f"cannot write image {path}")
