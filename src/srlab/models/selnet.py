"""SelNet: "A Deep Convolutional Neural Network with Selection Units for Super-Resolution", Choi, Kim
(CVPR Workshops 2017, NTIRE 2017 challenge).

A selection unit replaces ReLU: ReLU is an identity times an on/off switch, and the selection unit
learns the switch, x * sigmoid(conv1x1(relu(x))) (the identity, not relu(x), is multiplied). On the LR
image: a 3x3 convolution (64 maps) and 10 residual units of two 3x3 convolutions, each convolution
followed by a selection unit; a sub-pixel convolution to 64 maps at HR size; a 3x3 convolution to the
image (22 convolutional layers with the 21 above); plus the bicubic-upscaled input.

Layer sizes are read off what CARN (Ahn et al. 2018, Table 2) reports for SelNet: 974K parameters and
225.7G / 120.0G / 83.1G multiply-adds at x2 / x3 / x4 for a 1280x720 output. This network matches all
four: 974,208 weights at x2 (CARN counts weights without biases; 977,155 with them) and 225.65G /
120.05G / 83.09G. That needs RGB input and output, 21 selection units, a 3x3 sub-pixel convolution to
64 * scale**2 maps and a 3x3 convolution from 64 maps at HR size; a Y-channel net gives 971,904.
Decided here: the identity skips go around pairs of layers after the first (no parameters, so not
checked by the figures).
"""

from torch import Tensor, nn

from srlab.models.blocks import SubPixelConv, conv
from srlab.models.contract import SRNet
from srlab.ops import imresize


class SelectionUnit(nn.Module):
    """x * sigmoid(conv1x1(relu(x))): an identity times a learned switch."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.switch = nn.Sequential(nn.ReLU(), nn.Conv2d(num_features, num_features, 1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x * self.switch(x)


def _conv_su(num_features_in: int, num_features: int) -> nn.Sequential:
    return nn.Sequential(conv(num_features_in, num_features), SelectionUnit(num_features))


class ResidualUnit(nn.Module):
    """Two convolutions with selection units and an identity skip."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv_su(num_features, num_features), _conv_su(num_features, num_features))

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x + self.body(x)


class SelNet(SRNet):
    build_scales = (2, 3, 4)

    def __init__(
        self, scale: int, in_channels: int = 3, out_channels: int = 3, num_features: int = 64, num_blocks: int = 10
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(f"SelNet adds the bicubic input: in_channels {in_channels} != out_channels {out_channels}")
        self.head = _conv_su(in_channels, num_features)
        self.body = nn.Sequential(*(ResidualUnit(num_features) for _ in range(num_blocks)))
        self.upsample = SubPixelConv(num_features, num_features, scale)
        self.tail = conv(num_features, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, F, H, W)
        features = self.body(self.head(x))
        # (B, F, H, W) -> (B, F, sH, sW) -> (B, C, sH, sW)
        residual = self.tail(self.upsample(features))
        return imresize(x, self.scale) + residual
