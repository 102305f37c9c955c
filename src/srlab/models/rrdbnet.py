"""RRDBNet, the ESRGAN generator: "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks",
Wang, Yu, Wu, Gu, Liu, Dong, Qiao, Loy (ECCV Workshops 2018).

On the RGB LR image in [0, 1] (no mean shift): a convolution to `num_features` maps, `num_blocks`
residual-in-residual dense blocks (RRDB) and a convolution, with a skip around them, then x2 steps of
nearest-neighbour upsampling and a convolution with LeakyReLU(0.2), and two convolutions back to RGB.
An RRDB is three dense blocks and a skip scaled by `res_scale` (0.2); a dense block is five 3x3
convolutions, each seeing the input and all earlier outputs, the first four making `growth_channels`
(32) maps with LeakyReLU(0.2), the last `num_features`, with the same scaled skip. The dense blocks'
convolutions start from He (Kaiming) normal init scaled by 0.1, as in the paper and official code.

ESRGAN is x4 (two upsampling steps). For x2 we follow BasicSR, the authors' later code: the input is
pixel-unshuffled to half size (4x the channels) and fed to the same x4 network; an odd-sized input is
first padded by edge replication to even size, and the padding cropped from the output.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(0.2, inplace=True)


class DenseBlock(nn.Module):
    """Five densely connected convolutions; x + res_scale * last output."""

    def __init__(self, num_features: int, growth_channels: int, res_scale: float) -> None:
        super().__init__()
        widths = [num_features + i * growth_channels for i in range(5)]
        self.convs = nn.ModuleList(conv(w, growth_channels) for w in widths[:-1])
        self.convs.append(conv(widths[-1], num_features))
        self.act = _lrelu()
        self.res_scale = res_scale
        for c in self.convs:  # He init scaled by 0.1 (paper Sec. 3.3, "smaller initialization")
            nn.init.kaiming_normal_(c.weight)
            nn.init.zeros_(c.bias)
            with torch.no_grad():
                c.weight.mul_(0.1)

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W); the i-th conv sees F + i * growth_channels maps
        features = [x]
        for c in self.convs[:-1]:
            features.append(self.act(c(torch.cat(features, dim=1))))
        return x + self.res_scale * self.convs[-1](torch.cat(features, dim=1))


class RRDB(nn.Sequential):
    """Residual in residual dense block: three dense blocks, x + res_scale * their output."""

    def __init__(self, num_features: int, growth_channels: int, res_scale: float) -> None:
        super().__init__(*(DenseBlock(num_features, growth_channels, res_scale) for _ in range(3)))
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x + self.res_scale * super().forward(x)


class RRDBNet(SRNet):
    build_scales = (2, 4)

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 64,
        num_blocks: int = 23,
        growth_channels: int = 32,
        res_scale: float = 0.2,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        self.unshuffle = 4 // scale  # the body always upsamples x4
        self.head = conv(in_channels * self.unshuffle**2, num_features)
        blocks = [RRDB(num_features, growth_channels, res_scale) for _ in range(num_blocks)]
        self.body = nn.Sequential(*blocks, conv(num_features, num_features))
        self.upsample = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv(num_features, num_features),
            _lrelu(),
            nn.Upsample(scale_factor=2, mode="nearest"),
            conv(num_features, num_features),
            _lrelu(),
        )
        self.tail = nn.Sequential(conv(num_features, num_features), _lrelu(), conv(num_features, out_channels))

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        r = self.unshuffle
        # (B, C, H, W) -> (B, C r^2, H/r, W/r), H and W padded up to multiples of r
        x = F.pixel_unshuffle(F.pad(x, (0, -w % r, 0, -h % r), mode="replicate"), r)
        # (B, C r^2, H/r, W/r) -> (B, F, H/r, W/r)
        x = self.head(x)
        x = x + self.body(x)
        # (B, F, H/r, W/r) -> (B, C, 4H/r, 4W/r), cropped to (B, C, sH, sW)
        return self.tail(self.upsample(x))[..., : self.scale * h, : self.scale * w]
