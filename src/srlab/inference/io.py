"""Reading images for inference and writing results in kind: grey stays grey, alpha and 16 bits survive.

OpenCV decodes and encodes here (Pillow cannot hold 16-bit colour). Pixels are taken as stored: EXIF
orientation is not applied, and grey images with alpha come back as RGBA.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from srlab.ops import rgb_to_y

# What OpenCV decodes, as file suffixes.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm", ".pbm")
_PEAK = {8: 255.0, 16: 65535.0}


@dataclass
class DecodedImage:
    """An image as the upscaler takes it, and what is needed to write the result back in kind."""

    rgb: Tensor  # (1, 3, h, w) float32 in [0, 1]; grey images are replicated to three channels
    alpha: Tensor | None  # (1, 1, h, w) float32 in [0, 1]
    grey: bool
    bits: int  # 8 or 16


def list_images(path: Path) -> list[Path]:
    """`path` itself if it is a file, else the images directly inside the folder `path`, sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"input {path} does not exist")
    found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise FileNotFoundError(f"input folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


def read_image(path: Path) -> DecodedImage:
    """Decode an 8- or 16-bit grey, RGB or RGBA image file."""
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise OSError(f"cannot decode image {path}")
    bits = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(arr.dtype)
    if bits is None:
        raise ValueError(f"image {path} has {arr.dtype} pixels; only 8- and 16-bit images are supported")
    # (h, w) grey, (h, w, 3) BGR or (h, w, 4) BGRA -> (1, C, h, w) in [0, 1]
    x = torch.from_numpy(arr.astype(np.float32) / _PEAK[bits])
    x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
    if x.shape[1] == 1:
        return DecodedImage(rgb=x.expand(-1, 3, -1, -1).contiguous(), alpha=None, grey=True, bits=bits)
    if x.shape[1] not in (3, 4):
        raise ValueError(f"image {path} has {x.shape[1]} channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)")
    alpha = x[:, 3:] if x.shape[1] == 4 else None
    return DecodedImage(rgb=x[:, [2, 1, 0]].contiguous(), alpha=alpha, grey=False, bits=bits)


def write_image(path: Path, rgb: Tensor, alpha: Tensor | None = None, grey: bool = False, bits: int = 8) -> None:
    """Encode (1, 3, H, W) RGB in [0, 1] (and (1, 1, H, W) alpha) to `path`, by its suffix.

    `grey` writes one channel, the luma of `rgb` on the full [0, 1] range (exactly the value of a grey
    image's three equal channels); `bits` is 8 or 16.
    """
    if bits not in _PEAK:
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    if grey:
        # Y of MATLAB's rgb2ycbcr spans [16, 235] / 255; its weights sum to 219 / 255.
        channels = (rgb_to_y(rgb) - 16 / 255) * (255 / 219)
    else:
        channels = rgb[:, [2, 1, 0]]  # OpenCV's BGR order
    if alpha is not None:
        channels = torch.cat([channels, alpha], dim=1)
    dtype = np.uint8 if bits == 8 else np.uint16
    levels = channels[0].float().clamp(0, 1).mul(_PEAK[bits]).round().permute(1, 2, 0)
    arr = levels.cpu().numpy().astype(dtype)
    if not cv2.imwrite(str(path), arr[..., 0] if arr.shape[-1] == 1 else arr):
        raise OSError(f"cannot write image {path}")
