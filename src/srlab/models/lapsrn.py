"""LapSRN and MS-LapSRN, progressive x2 upsampling in a Laplacian pyramid.

LapSRN: "Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution", Wei-Sheng Lai, Jia-Bin
Huang, Narendra Ahuja, Ming-Hsuan Yang (CVPR 2017).
MS-LapSRN: "Fast and Accurate Image Super-Resolution with Deep Laplacian Pyramid Networks", same authors
(TPAMI 2018).

Both take the LR Y channel and run log2(scale) pyramid levels. At each level a feature branch turns 64
maps at the current size into 64 maps at twice the size, and a 3x3 convolution of those predicts the
level's residual image; an image branch upsamples the previous level's image x2 with a 4x4 transposed
convolution (bilinear initialisation) and adds the residual. In training mode the images of all levels
are returned, coarsest first ([x2, x4, ...]), each to be compared with the HR image downscaled to its
size (Charbonnier loss on every level).

- LapSRN: an input convolution (+ LeakyReLU 0.2), then per level `depth` (10) 3x3 convolutions +
  LeakyReLU and a transposed convolution x2 + LeakyReLU; no weights shared across levels.
- MS-LapSRN: one set of weights for all levels and all scales. The input convolution feeds, per level,
  a recursive block of `depth` (D = 5) pre-activated (LeakyReLU, conv) layers applied `num_recursions`
  (R = 8) times, each time adding the level's input (shared-source local skip connection), then
  LeakyReLU and the transposed convolution x2. `self.scale` is read at call time, so one model serves
  x2, x4 and x8.

Following the official MatConvNet code (phoenix104104/LapSRN), which the reported parameter counts
match, the feature upsampling is a 3x3 transposed convolution with stride 2 whose last row and column
are cropped (MatConvNet crop [0 1 0 1]) rather than the paper's 4x4; the input convolution starts from
N(0, 0.001), the other convolutions from He initialisation, biases from zero.
"""

import math

import torch
from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet, check_scale


def _bilinear_upsampler(channels: int) -> nn.ConvTranspose2d:
    """4x4 transposed convolution, stride 2, without bias, that starts as per-channel bilinear x2 upsampling."""
    up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    k = 1 - (torch.arange(4) - 1.5).abs() / 2  # (0.25, 0.75, 0.75, 0.25)
    with torch.no_grad():
        up.weight.zero_()
        for c in range(channels):
            up.weight[c, c] = k[:, None] * k[None, :]
    return up


class _FeatureUpsampler(nn.ConvTranspose2d):
    """3x3 transposed convolution, stride 2, cropped to exactly twice the input size as the official code."""

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, num_features, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, 2H + 1, 2W + 1) -> (B, F, 2H, 2W)
        return super().forward(x)[..., :-1, :-1]


def _init(module: nn.Module, head: nn.Conv2d) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, _FeatureUpsampler)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    nn.init.normal_(head.weight, std=1e-3)


def _check(name: str, in_channels: int, out_channels: int) -> None:
    if in_channels != out_channels:
        raise ValueError(f"{name} upsamples its input image: in_channels {in_channels} != out_channels {out_channels}")


class _Level(nn.Module):
    """One LapSRN pyramid level: `depth` conv + LeakyReLU, then x2 upsampling, plus the residual predictor."""

    def __init__(self, num_features: int, depth: int, out_channels: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [conv(num_features, num_features), nn.LeakyReLU(0.2, inplace=True)]
        layers += [_FeatureUpsampler(num_features), nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.residual = conv(num_features, out_channels)


class LapSRN(SRNet):
    build_scales = (2, 4, 8)

    def __init__(
        self, scale: int, in_channels: int = 1, out_channels: int = 1, num_features: int = 64, depth: int = 10
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        _check("LapSRN", in_channels, out_channels)
        levels = int(math.log2(scale))
        self.head = nn.Sequential(conv(in_channels, num_features), nn.LeakyReLU(0.2, inplace=True))
        self.levels = nn.ModuleList(_Level(num_features, depth, out_channels) for _ in range(levels))
        self.image_up = nn.ModuleList(_bilinear_upsampler(out_channels) for _ in range(levels))
        _init(self, self.head[0])

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        # (B, C, H, W) -> (B, F, H, W)
        features = self.head(x)
        image, outputs = x, []
        for level, up in zip(self.levels, self.image_up):
            features = level.features(features)  # (B, F, h, w) -> (B, F, 2h, 2w)
            image = up(image) + level.residual(features)  # (B, C, h, w) -> (B, C, 2h, 2w)
            outputs.append(image)
        return outputs if self.training else outputs[-1]


class MSLapSRN(SRNet):
    build_scales = (2, 4, 8)

    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: int = 64,
        depth: int = 5,
        num_recursions: int = 8,
    ) -> None:
        super().__init__(scale, in_channels, out_channels, run_scales=self.build_scales)
        _check("MSLapSRN", in_channels, out_channels)
        self.num_recursions = num_recursions
        self.head = conv(in_channels, num_features)
        layers: list[nn.Module] = []
        for _ in range(depth):  # not in-place: a block's input is also its skip source
            layers += [nn.LeakyReLU(0.2), conv(num_features, num_features)]
        self.block = nn.Sequential(*layers)
        self.upsample = nn.Sequential(nn.LeakyReLU(0.2), _FeatureUpsampler(num_features))
        self.residual = conv(num_features, out_channels)
        self.image_up = _bilinear_upsampler(out_channels)
        _init(self, self.head)

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        check_scale(self, self.scale, "MSLapSRN.scale")  # x3 would silently run int(log2(3)) = 1 level
        # (B, C, H, W) -> (B, F, H, W)
        features = self.head(x)
        image, outputs = x, []
        for _ in range(int(math.log2(self.scale))):
            source = features
            for _ in range(self.num_recursions):
                features = source + self.block(features)
            features = self.upsample(features)  # (B, F, h, w) -> (B, F, 2h, 2w)
            image = self.image_up(image) + self.residual(features)  # (B, C, h, w) -> (B, C, 2h, 2w)
            outputs.append(image)
        return outputs if self.training else outputs[-1]
