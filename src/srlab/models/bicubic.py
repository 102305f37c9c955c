"""Bicubic interpolation as MATLAB's `imresize`: the parameter-free baseline of every SR paper."""

from torch import Tensor

from srlab.models.contract import ANY_SCALE, SRNet
from srlab.ops import imresize


class Bicubic(SRNet):
    """MATLAB-compatible bicubic upscaling by an integer `scale`, which may change between calls."""

    def __init__(self, scale: int, in_channels: int = 3) -> None:
        super().__init__(scale, in_channels, in_channels, run_scales=ANY_SCALE)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, C, sH, sW)
        return imresize(x, self.scale)
