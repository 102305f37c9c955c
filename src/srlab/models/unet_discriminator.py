"""The U-Net discriminator with spectral normalisation of Real-ESRGAN: "Real-ESRGAN: Training Real-World Blind
Super-Resolution with Pure Synthetic Data", Wang, Xie, Dong, Shan (ICCV Workshops 2021).

A 3x3 convolution to F maps; three 4x4 stride-2 convolutions down to 2F, 4F, 8F maps at 1/8 size; three
steps up, each a bilinear x2 upsampling then a 3x3 convolution (4F, 2F, F maps) whose output adds the
encoder's maps of the same size (the skip connections); two more 3x3 convolutions and a 3x3
convolution to one logit per pixel. LeakyReLU (slope 0.2) after every convolution but the last.
Spectral normalisation (one power iteration per training forward) wraps every convolution but the
first and the last, which alone have a bias. 4,376,897 parameters with F = 64, as the official code.

Decided here: spectral norm is PyTorch's parametrisation (`torch.nn.utils.parametrizations`), the
maintained form; the official code uses the older hook form, whose state-dict keys differ
(`conv1.weight_orig` against `conv1.parametrizations.weight.original`).
"""

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm


def _sn_conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=1, bias=False))


class UNetDiscriminatorSN(nn.Module):
    """RGB image (B, 3, H, W) in [0, 1], H and W multiples of 8 -> per-pixel real/fake logits (B, 1, H, W)."""

    multiple = 8  # three stride-2 steps down and back up

    def __init__(self, in_channels: int = 3, num_features: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        f = num_features
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(in_channels, f, 3, padding=1)
        self.down = nn.ModuleList(
            [_sn_conv(f, 2 * f, 4, 2), _sn_conv(2 * f, 4 * f, 4, 2), _sn_conv(4 * f, 8 * f, 4, 2)]
        )
        self.up = nn.ModuleList([_sn_conv(8 * f, 4 * f, 3), _sn_conv(4 * f, 2 * f, 3), _sn_conv(2 * f, f, 3)])
        self.extra = nn.ModuleList([_sn_conv(f, f, 3), _sn_conv(f, f, 3)])
        self.out = nn.Conv2d(f, 1, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2] % self.multiple or x.shape[-1] % self.multiple:
            raise ValueError(f"UNetDiscriminatorSN takes sizes that are multiples of 8, got {tuple(x.shape[-2:])}")
        # (B, C, H, W) -> (B, F, H, W) -> ... -> (B, 8F, H/8, W/8)
        skips = [F.leaky_relu(self.conv0(x), 0.2)]
        for conv in self.down:
            skips.append(F.leaky_relu(conv(skips[-1]), 0.2))
        # (B, 8F, H/8, W/8) -> (B, F, H, W), adding the encoder's maps of each size
        y = skips.pop()
        for conv in self.up:
            y = F.leaky_relu(conv(F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)), 0.2)
            skip = skips.pop()
            if self.skip_connection:
                y = y + skip
        for conv in self.extra:
            y = F.leaky_relu(conv(y), 0.2)
        # (B, F, H, W) -> (B, 1, H, W)
        return self.out(y)
