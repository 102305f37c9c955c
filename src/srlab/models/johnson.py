"""The super-resolution transformation network of "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", Johnson, Alahi, Fei-Fei (ECCV 2016).

On the RGB LR image: a 9x9 convolution (64 maps), 4 residual blocks (conv-BN-ReLU-conv-BN, 3x3, 64),
log2(scale) 3x3 convolutions with stride 1/2 (transposed, stride 2), and a 9x9 convolution to RGB.
The convolutions outside the residual blocks are followed by batch norm and ReLU, the last one by a
scaled tanh instead. The supplementary material gives x4 (72x72 -> 288x288 patches, two stride-1/2
convolutions) and x8 (36x36 -> 288x288, three). 401,859 parameters at x4, 438,915 at x8.

Decided here (the paper does not say, and released no super-resolution code):
- The scaled tanh maps to [0, 1] as (tanh + 1) / 2 (the paper's maps to [0, 255]); the input is the
  LR image in [0, 1], no mean subtracted.
- Convolutions keep their bias, also in front of batch norm, as in the authors' Torch style-transfer
  code; all convolutions are zero-padded to keep the size (the style-transfer networks crop instead).
"""

import math

import torch
from torch import Tensor, nn

from srlab.models.blocks import ResidualBlock, conv
from srlab.models.contract import SRNet


def _bn_relu(layer: nn.Module, num_features: int) -> nn.Sequential:
    return nn.Sequential(layer, nn.BatchNorm2d(num_features), nn.ReLU())


def _stride_half(num_features: int) -> nn.ConvTranspose2d:
    """A 3x3 convolution with stride 1/2: (B, F, H, W) -> (B, F, 2H, 2W)."""
    return nn.ConvTranspose2d(num_features, num_features, 3, stride=2, padding=1, output_padding=1)


class JohnsonSR(SRNet):
    build_scales = (4, 8)

    def __init__(
        self, scale: int, in_channels: int = 3, out_channels: int = 3, num_features: int = 64, num_blocks: int = 4
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        self.head = _bn_relu(conv(in_channels, num_features, 9), num_features)
        self.body = nn.Sequential(*(ResidualBlock(num_features, batch_norm=True) for _ in range(num_blocks)))
        steps = int(math.log2(scale))
        self.upsample = nn.Sequential(*(_bn_relu(_stride_half(num_features), num_features) for _ in range(steps)))
        self.tail = conv(num_features, out_channels, 9)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, F, H, W) -> (B, F, sH, sW)
        x = self.upsample(self.body(self.head(x)))
        # (B, F, sH, sW) -> (B, C, sH, sW) in [0, 1]
        return (torch.tanh(self.tail(x)) + 1) / 2
