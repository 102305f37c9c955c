"""Bicubic interpolation as MATLAB's `imresize`: the parameter-free baseline of every SR paper."""

from torch import Tensor, nn

from srlab.ops import imresize


class Bicubic(nn.Module):
    """MATLAB-compatible bicubic upscaling by an integer `scale`."""

    pre_upsampled = False
    scales: tuple[int, ...] = ()

    def __init__(self, scale: int, in_channels: int = 3) -> None:
        super().__init__()
        self.scale = scale
        self.in_channels = self.out_channels = in_channels

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, C, sH, sW)
        return imresize(x, self.scale)
