"""A network and its contract as one RGB-in, RGB-out module that traces with any input size."""

from contextlib import nullcontext

import torch
from torch import Tensor, nn

from srlab.models.contract import net_input, to_rgb
from srlab.ops import imresize


class RGBUpscaler(nn.Module):
    """RGB LR (B, 3, h, w) in [0, 1] -> RGB SR (B, 3, sh, sw) in [0, 1] with any contract network.

    The net is fed what it consumes (Y or RGB, LR or bicubic-upscaled) and a Y output takes CbCr from
    the bicubic image (`srlab.models.contract.to_rgb`). `imresize` upscales by an integer
    with convolutions, so the whole module exports to ONNX or TorchScript with dynamic sizes (as long as
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
        self.needs_bicubic = net.pre_upsampled or net.out_channels == 1

    def forward(self, lr: Tensor) -> Tensor:
        bicubic = imresize(lr, self.scale) if self.needs_bicubic else None
        x = net_input(self.net, lr, upscaled=bicubic)
        reduced = torch.autocast(lr.device.type, self.autocast) if self.autocast is not None else nullcontext()
        with reduced:
            out = self.net(x)
        out = out.float()
        return to_rgb(self.net, out, out if bicubic is None else bicubic)
