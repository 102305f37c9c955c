"""Building blocks shared across the model zoo."""

from torch import Tensor, nn


class SubPixelConv(nn.Sequential):
    """Convolution to `out_channels * scale**2` maps, then pixel shuffle (Shi et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int, kernel_size: int = 3) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels * scale**2, kernel_size, padding=kernel_size // 2),
            nn.PixelShuffle(scale),
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, out_channels, sH, sW)
        return super().forward(x)
