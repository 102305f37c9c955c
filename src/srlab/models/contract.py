"""The model contract: what every super-resolution network declares (`SRNet`), which scales it can
produce (`check_scale`), how it is fed and how its output becomes an RGB image.

Used by training (`SRSystem`) and inference (`upscale.py`, `eval.py`) alike.
"""

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from srlab.ops import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb

ANY_SCALE: tuple[int, ...] = ()  # as `build_scales` or `run_scales`: any positive integer


def scales_text(scales: tuple[int, ...]) -> str:
    """`x2, x3, x4`, or `any scale` for `ANY_SCALE`."""
    return ", ".join(f"x{s}" for s in scales) or "any scale"


class SRNet(nn.Module):
    """The base of every super-resolution network: what it consumes and the scales it works at.

    Two sets of scales, which differ for most networks:
    - `build_scales` (class attribute): the scales the class can be built at, `ANY_SCALE` for any;
    - `run_scales`: the scales this built net can switch to by setting `scale` before a call. A
      multi-scale net (MDSR, CARN, MS-LapSRN) lists its heads; a pre-upsampled net takes any scale,
      since its input is bicubic-upscaled to the size asked for; every other net only its built scale.

    A subclass calls `super().__init__(scale, in_channels, out_channels)` first, which checks `scale`
    against `build_scales`; a multi-scale net also passes its heads as `run_scales`.

    Attributes:
        pre_upsampled: (class attribute) True when the input is the LR image already bicubic-upscaled
            to HR size.
        built_scale: the scale it was built at.
        scale: the scale of the next call: the built one, or one of `run_scales` set by the caller.
        in_channels, out_channels: 1 (the Y channel) or 3 (RGB).
        run_scales: see above.
    """

    pre_upsampled: ClassVar[bool] = False
    build_scales: ClassVar[tuple[int, ...]] = ANY_SCALE

    def __init__(
        self, scale: int, in_channels: int, out_channels: int, run_scales: tuple[int, ...] | None = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(scale, int) or scale < 1 or (self.build_scales and scale not in self.build_scales):
            raise ValueError(
                f"{name} can be built at {scales_text(self.build_scales)}, not at scale {scale!r}: "
                "pick one of those (data.scale)"
            )
        self.built_scale = self.scale = scale
        self.in_channels, self.out_channels = in_channels, out_channels
        if run_scales is None:
            run_scales = ANY_SCALE if self.pre_upsampled else (scale,)
        self.run_scales: tuple[int, ...] = tuple(run_scales)


def check_scale(net: SRNet, scale: int, source: str) -> None:
    """Raise a ValueError unless `net` can produce `scale`, naming `source` (the checkpoint, weight
    or option that asks for it), the class, the scale it is built at, the scales it can switch to,
    and the fix."""
    if isinstance(scale, int) and scale >= 1 and (not net.run_scales or scale in net.run_scales):
        return
    name = type(net).__name__
    reach = f"{scales_text(net.run_scales)} only" if net.run_scales else "any positive integer"
    raise ValueError(
        f"{source}: {name} built at x{net.built_scale} cannot produce x{scale}; it can switch to {reach}. "
        f"Ask for one of those scales, or build {name} at x{scale}"
    )


def net_input(net: SRNet, lr: Tensor, scale: int | None = None, upscaled: Tensor | None = None) -> Tensor:
    """RGB LR (B, 3, h, w) -> what `net` consumes: Y or RGB, at LR or (bicubic-upscaled) HR size.

    `upscaled`, the bicubic image when the caller has it already, saves computing it again.
    """
    if net.pre_upsampled:
        lr = upscaled if upscaled is not None else imresize(lr, scale or net.scale)
    return rgb_to_y(lr) if net.in_channels == 1 else lr


def to_rgb(net: SRNet, out: Tensor, bicubic: Tensor) -> Tensor:
    """The net's output as an RGB image in [0, 1]; a Y output takes CbCr from the bicubic image."""
    if net.out_channels == 3:
        return out.clamp(0, 1)
    ycbcr = rgb_to_ycbcr(bicubic)
    return ycbcr_to_rgb(torch.cat([out.to(ycbcr.dtype), ycbcr[:, 1:]], dim=1)).clamp(0, 1)


def predict(
    net: SRNet, lr: Tensor, forward: Callable[[Tensor], Tensor] | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Run `net` (or `forward`, e.g. a self-ensemble of it) on RGB LR at `net.scale`.

    Returns the net's own output (Y or RGB, float32), that output as an RGB image, and the bicubic
    image (the baseline); `srlab.metrics.scored_image` picks what the papers score.
    """
    upscaled = imresize(lr, net.scale)
    out = (forward or net)(net_input(net, lr, upscaled=upscaled)).float()
    bicubic = upscaled.clamp(0, 1)
    return out, to_rgb(net, out, bicubic), bicubic


def cost(net: SRNet, tile: int = 48) -> tuple[int, float]:
    """Parameters and GFLOPs per output megapixel of `net` at its `scale`, measured on a `tile`-pixel square
    output (FLOPs count 2 per multiply-add, as PyTorch's `FlopCounterMode`)."""
    lr = torch.rand(1, 3, tile // net.scale, tile // net.scale)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = net(net_input(net, lr))
    gflops_per_mp = counter.get_total_flops() / (out.shape[-2] * out.shape[-1]) * 1e6 / 1e9
    return sum(p.numel() for p in net.parameters()), gflops_per_mp
