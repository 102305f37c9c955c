"""ESPCN: "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel
Convolutional Neural Network", Shi et al. (CVPR 2016).

Three convolutions on the LR Y channel, (5x5, 64), (3x3, 32) with tanh, and a final (3x3)
convolution to `scale**2` maps rearranged by pixel shuffle into the HR image.
"""

from collections.abc import Sequence

from torch import Tensor, nn

from srlab.models.blocks import SubPixelConv
from srlab.models.contract import SRNet


class ESPCN(SRNet):
    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: Sequence[int] = (64, 32),
        kernel_sizes: Sequence[int] = (5, 3, 3),
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        f1, f2 = num_features
        k1, k2, k3 = kernel_sizes
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, f1, k1, padding=k1 // 2),
            nn.Tanh(),
            nn.Conv2d(f1, f2, k2, padding=k2 // 2),
            nn.Tanh(),
        )
        self.upsample = SubPixelConv(f2, out_channels, scale, k3)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, f2, H, W) -> (B, C, sH, sW)
        return self.upsample(self.features(x))
