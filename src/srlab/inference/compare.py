"""Versions of one HR image for side-by-side comparison: its LR image, bicubic, each method's SR, and HR,
each scored against HR with the paper protocol (`srlab.metrics.image_quality`)."""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from srlab.data.degradation import degrade
from srlab.inference.io import to_levels
from srlab.metrics import image_quality, scored_image
from srlab.models.contract import SRNet, predict
from srlab.ops import imresize


@dataclass
class Version:
    """One image of a comparison: (H, W, 3) uint8 pixels (the LR image at its own size) and its scores against
    HR (the LR image upscaled by nearest neighbour)."""

    name: str
    pixels: np.ndarray
    psnr: float
    ssim: float


def to_pixels(rgb: Tensor) -> np.ndarray:
    """(1, 3, H, W) RGB in [0, 1] -> (H, W, 3) uint8."""
    return to_levels(rgb)[0].permute(1, 2, 0).cpu().numpy()


@torch.inference_mode()
def versions(hr: Tensor, grey: bool, scale: int, methods: dict[str, SRNet | Tensor]) -> list[Version]:
    """LR (nearest), bicubic, each method's SR and HR of `hr`, (1, 3, H, W) RGB of 8-bit values in [0, 1]
    with H and W multiples of `scale`. A method is a net (run on the MATLAB-bicubic LR image at `scale`)
    or an SR image already made, (1, 3, H, W) in [0, 1]."""
    flag = torch.tensor([grey])

    def scored(name: str, shown: Tensor, image: Tensor) -> Version:
        psnr, ssim = image_quality(image, hr, flag, border=scale)
        return Version(name, to_pixels(shown), psnr.item(), ssim.item())

    lr = degrade(hr, scale)
    out = [scored("LR (nearest)", lr, F.interpolate(lr, scale_factor=scale, mode="nearest"))]
    bicubic = imresize(lr, scale).clamp(0, 1)
    out.append(scored("Bicubic", bicubic, bicubic))
    for name, method in methods.items():
        if isinstance(method, Tensor):
            if method.shape != hr.shape:
                raise ValueError(f"{name}: the SR image is {tuple(method.shape[-2:])} pixels, HR {tuple(hr.shape[-2:])}")
            out.append(scored(name, method, method))
            continue
        method.scale = scale
        net_out, rgb, _ = predict(method, lr)
        out.append(scored(name, rgb, scored_image(net_out, rgb, flag)))
    out.append(scored("HR", hr, hr))
    return out
