"""How a network that follows the model contract is fed and how its output becomes an RGB image.

Used by training (`SRSystem`) and inference (`upscale.py`, `eval.py`) alike.
"""

from collections.abc import Callable

import torch
from torch import Tensor, nn

from srlab.ops import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb


def net_input(net: nn.Module, lr: Tensor, scale: int | None = None, upscaled: Tensor | None = None) -> Tensor:
    """RGB LR (B, 3, h, w) -> what `net` consumes: Y or RGB, at LR or (bicubic-upscaled) HR size.

    `upscaled`, the bicubic image when the caller has it already, saves computing it again.
    """
    if net.pre_upsampled:
        lr = upscaled if upscaled is not None else imresize(lr, scale or net.scale)
    return rgb_to_y(lr) if net.in_channels == 1 else lr


def to_rgb(net: nn.Module, out: Tensor, bicubic: Tensor) -> Tensor:
    """The net's output as an RGB image in [0, 1]; a Y output takes CbCr from the bicubic image."""
    if net.out_channels == 3:
        return out.clamp(0, 1)
    ycbcr = rgb_to_ycbcr(bicubic)
    return ycbcr_to_rgb(torch.cat([out.to(ycbcr.dtype), ycbcr[:, 1:]], dim=1)).clamp(0, 1)


def predict(
    net: nn.Module, lr: Tensor, grey: Tensor, forward: Callable[[Tensor], Tensor] | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Run `net` (or `forward`, e.g. a self-ensemble of it) on RGB LR for scoring.

    Returns the output that is scored, the RGB output and the bicubic image (the baseline). A Y net is
    scored on its own Y output, as the papers do; grey images (`grey`, (B,) bool) on the grey channel
    of the RGB output.
    """
    upscaled = imresize(lr, net.scale)
    out = (forward or net)(net_input(net, lr, upscaled=upscaled)).float()
    bicubic = upscaled.clamp(0, 1)
    rgb = to_rgb(net, out, bicubic)
    scored = out if net.out_channels == 1 and not bool(grey.any()) else rgb
    return scored, rgb, bicubic


def super_resolve(net: nn.Module, lr: Tensor) -> Tensor:
    """RGB LR (B, 3, h, w) in [0, 1] -> RGB SR (B, 3, sh, sw) in [0, 1]."""
    upscaled = imresize(lr, net.scale) if net.pre_upsampled or net.out_channels == 1 else None
    out = net(net_input(net, lr, upscaled=upscaled)).float()
    return to_rgb(net, out, out if upscaled is None else upscaled)
