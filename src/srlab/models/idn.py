"""IDN: "Fast and Accurate Single Image Super-Resolution via Information Distillation Network", Hui, Wang,
Gao (CVPR 2018).

Works on the LR Y channel. A feature extraction block (FBlock: two 3x3 convolutions, 64 maps), four
distillation blocks (DBlocks) and a reconstruction block (RBlock): a 17x17 transposed convolution with
stride `scale` to one channel, added to the bicubic-upscaled input, which the model computes itself.
Every convolution but the last is followed by leaky ReLU (slope 0.05).

A DBlock is an enhancement unit and a compression unit. The enhancement unit's upper path (3x3
convolutions to 48, 32 and 64 maps, the middle one with 4 groups) splits its output: 16 maps (1/4) are
concatenated with the block input (64 + 16 = 80), the other 48 go through the lower path (64, 48 with
4 groups, 80 maps) and are added to that concatenation. A 1x1 convolution compresses the 80 maps back
to 64. Layer sizes and initialisation (MSRA with the fan average, zero biases) follow the authors' Caffe
deploy files (Zheng222/IDN-Caffe); the transposed convolution keeps Caffe's padding 8 and adds
`scale - 1` output padding so the output is exactly `scale` times the input.
"""

import math

import torch
from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet
from srlab.ops import imresize


def _act() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.05, inplace=True)


class _DBlock(nn.Module):
    def __init__(self, num_features: int, distilled: int, groups: int) -> None:
        super().__init__()
        f, d = num_features, distilled
        self.distilled = d
        self.upper = nn.Sequential(
            conv(f, f - d), _act(), conv(f - d, f // 2, groups=groups), _act(), conv(f // 2, f), _act()
        )
        self.lower = nn.Sequential(
            conv(f - d, f), _act(), conv(f, f - d, groups=groups), _act(), conv(f - d, f + d), _act()
        )
        self.compress = nn.Sequential(conv(f + d, f, 1), _act())

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W), split into d distilled and F - d further processed maps
        upper = self.upper(x)
        kept, rest = upper[:, : self.distilled], upper[:, self.distilled :]
        # (B, F + d, H, W)
        enhanced = torch.cat([x, kept], dim=1) + self.lower(rest)
        # (B, F + d, H, W) -> (B, F, H, W)
        return self.compress(enhanced)


class IDN(SRNet):
    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: int = 64,
        num_blocks: int = 4,
        distilled: int = 16,
        groups: int = 4,
        kernel_size: int = 17,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(f"IDN adds its output to the upscaled input: in_channels {in_channels} != {out_channels}")
        self.fblock = nn.Sequential(conv(in_channels, num_features), _act(), conv(num_features, num_features), _act())
        self.dblocks = nn.Sequential(*(_DBlock(num_features, distilled, groups) for _ in range(num_blocks)))
        self.upsample = nn.ConvTranspose2d(
            num_features, out_channels, kernel_size, stride=scale, padding=kernel_size // 2, output_padding=scale - 1
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                # Caffe's "msra" filler with variance_norm AVERAGE: fans are count / shape[0] and count / shape[1]
                fan_in, fan_out = m.weight[0].numel(), m.weight[:, 0].numel()
                nn.init.normal_(m.weight, std=math.sqrt(4.0 / (fan_in + fan_out)))
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, F, H, W)
        features = self.dblocks(self.fblock(x))
        # (B, F, H, W) -> (B, C, sH, sW)
        return self.upsample(features) + imresize(x, self.scale)
