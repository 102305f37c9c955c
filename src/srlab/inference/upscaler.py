"""A network and its contract as one RGB-in, RGB-out module that traces with any input size."""

from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srlab.models.contract import to_rgb
from srlab.ops import rgb_to_y
from srlab.ops.resize import resize_weights


class BicubicUpsample(nn.Module):
    """`imresize(x, scale)` for an integer `scale`, as two depthwise convolutions (polyphase filtering).

    Upscaling by an integer s, output pixel s * i + k of a row reads input pixels i - 2 .. i + 2 with
    weights that depend on the phase k alone, so each pass of `imresize` reduces to s filters of 5 taps.
    They are read off `resize_weights` itself, and edges are replicated as `imresize` does, so results
    equal `imresize` to float rounding. Unlike its (sh, h) weight matrices, nothing here depends on the
    input size: the module exports with dynamic sizes, and costs 5 taps per output pixel instead of h.
    """

    def __init__(self, scale: int, channels: int = 3) -> None:
        super().__init__()
        if int(scale) != scale or scale < 1:
            raise ValueError(f"BicubicUpsample: scale must be a positive integer, got {scale}")
        self.scale, self.channels = int(scale), channels
        # Rows 2s .. 3s - 1 of a 5-pixel resize are the s phases, centred on input pixel 2.
        phases = resize_weights(5, 5 * self.scale, float(self.scale), True)[2 * self.scale : 3 * self.scale]
        taps = phases.float().repeat(channels, 1)[:, None]  # (C * s, 1, 5), output channel c * s + k
        self.register_buffer("rows", taps[..., None], persistent=False)  # (C * s, 1, 5, 1)
        self.register_buffer("cols", taps[:, :, None], persistent=False)  # (C * s, 1, 1, 5)

    def forward(self, x: Tensor) -> Tensor:
        c, s = self.channels, self.scale
        x = F.pad(x, (2, 2, 2, 2), mode="replicate")
        # (B, C, H + 4, W + 4) -> (B, C * s, H, W + 4) -> (B, C, s, H, W + 4) -> (B, C, sH, W + 4)
        x = F.conv2d(x, self.rows.to(x.dtype), groups=c).unflatten(1, (c, s)).transpose(2, 3).flatten(2, 3)
        # (B, C, sH, W + 4) -> (B, C * s, sH, W) -> (B, C, s, sH, W) -> (B, C, sH, sW)
        x = F.conv2d(x, self.cols.to(x.dtype), groups=c).unflatten(1, (c, s)).permute(0, 1, 3, 4, 2)
        return x.flatten(3, 4)


class RGBUpscaler(nn.Module):
    """RGB LR (B, 3, h, w) in [0, 1] -> RGB SR (B, 3, sh, sw) in [0, 1] with any contract network.

    The net is fed what it consumes (Y or RGB, LR or bicubic-upscaled) and a Y output takes CbCr from
    the bicubic image, as `srlab.models.contract.super_resolve` does; the bicubic image comes from
    `BicubicUpsample`, so the whole module exports to ONNX or TorchScript with dynamic sizes (as long as
    the net itself does). Set a multi-scale net's `scale` before wrapping it.

    Args:
        net: the network (`scale`, `in_channels`, `out_channels`, `pre_upsampled`).
        autocast: run the net under autocast to this dtype (e.g. `torch.bfloat16`). Only the net:
            colour conversion and bicubic stay in float32, where half precision would cost grey levels.
    """

    def __init__(self, net: nn.Module, autocast: torch.dtype | None = None) -> None:
        super().__init__()
        self.net, self.autocast = net, autocast
        self.scale: int = net.scale
        needs_bicubic = net.pre_upsampled or net.out_channels == 1
        self.bicubic = BicubicUpsample(net.scale, channels=3) if needs_bicubic else None

    def forward(self, lr: Tensor) -> Tensor:
        bicubic = self.bicubic(lr) if self.bicubic is not None else None
        x = bicubic if self.net.pre_upsampled else lr
        x = rgb_to_y(x) if self.net.in_channels == 1 else x
        reduced = torch.autocast(lr.device.type, self.autocast) if self.autocast is not None else nullcontext()
        with reduced:
            out = self.net(x)
        out = out.float()
        return to_rgb(self.net, out, out if bicubic is None else bicubic)
