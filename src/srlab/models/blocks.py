"""Building blocks shared across the model zoo."""

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


def conv(in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True, groups: int = 1) -> nn.Conv2d:
    """A 'same'-padded convolution (odd `kernel_size`)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias, groups=groups)


class SubPixelConv(nn.Sequential):
    """Convolution to `out_channels * scale**2` maps, then pixel shuffle (Shi et al. 2016)."""

    def __init__(self, in_channels: int, out_channels: int, scale: int, kernel_size: int = 3, groups: int = 1) -> None:
        super().__init__(conv(in_channels, out_channels * scale**2, kernel_size, groups=groups), nn.PixelShuffle(scale))


@torch.no_grad()
def deconv_as_subpixel(deconv: nn.ConvTranspose2d) -> nn.Sequential:
    """The same function as a stride-s transposed convolution whose output is s times its input
    (FSRCNN's), as a stride-1 convolution to `out * s**2` maps and a pixel shuffle by s.

    Output pixel s*q + r takes input pixel q - j through kernel tap s*j + r + padding, so each of the
    s*s phases is a small convolution; the taps that fall outside the kernel are zero.
    """
    (s, _), (k, _), (p, _) = deconv.stride, deconv.kernel_size, deconv.padding
    if deconv.groups != 1 or deconv.dilation != (1, 1) or deconv.output_padding != (s - 1, s - 1) or k - 2 * p != 1:
        raise ValueError(f"deconv_as_subpixel needs output = stride x input, got {deconv}")
    taps = range(-((p + s - 1) // s), (k - 1 - p) // s + 1)  # j over every phase
    half = max(-taps.start, taps.stop - 1)
    c_in, c_out = deconv.in_channels, deconv.out_channels
    weight = deconv.weight.new_zeros(c_out, s, s, c_in, 2 * half + 1, 2 * half + 1)
    for ry in range(s):
        for rx in range(s):
            for jy in taps:
                for jx in taps:
                    ky, kx = s * jy + ry + p, s * jx + rx + p
                    if 0 <= ky < k and 0 <= kx < k:  # (c_in, c_out) -> (c_out, c_in)
                        weight[:, ry, rx, :, half - jy, half - jx] = deconv.weight[:, :, ky, kx].T
    conv2d = nn.Conv2d(c_in, c_out * s * s, 2 * half + 1, padding=half, bias=deconv.bias is not None,
                       device=weight.device, dtype=weight.dtype)  # fmt: skip
    conv2d.weight.copy_(weight.reshape(c_out * s * s, c_in, 2 * half + 1, 2 * half + 1))
    if deconv.bias is not None:
        conv2d.bias.copy_(deconv.bias.repeat_interleave(s * s))
    return nn.Sequential(conv2d, nn.PixelShuffle(s))


class Upsampler(nn.Sequential):
    """EDSR-style upsampling of `num_features` maps: x2 steps for powers of two, one x3 step for 3.

    Each step is a 3x3 convolution to `r**2 * num_features` maps in `groups` groups and a pixel shuffle
    by r, followed by `act()` when given (SRResNet uses PReLU, CARN ReLU).
    """

    def __init__(
        self, num_features: int, scale: int, act: Callable[[], nn.Module] | None = None, groups: int = 1
    ) -> None:
        if scale == 3:
            factors = [3]
        elif scale >= 2 and scale & (scale - 1) == 0:
            factors = [2] * int(math.log2(scale))
        else:
            raise ValueError(f"Upsampler supports scale 3 or a power of 2, got {scale}")
        layers: list[nn.Module] = []
        for r in factors:
            layers += [SubPixelConv(num_features, num_features, r, groups=groups)]
            if act is not None:
                layers.append(act())
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """conv-act-conv with an identity skip: x + res_scale * body(x).

    EDSR: ReLU, no batch norm, `res_scale` 0.1 in the full model. SRResNet: batch norm after each
    convolution and PReLU.
    """

    def __init__(
        self,
        num_features: int,
        kernel_size: int = 3,
        res_scale: float = 1.0,
        batch_norm: bool = False,
        act: Callable[[], nn.Module] = lambda: nn.ReLU(inplace=True),
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv(num_features, num_features, kernel_size)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(num_features))
        layers.append(act())
        layers.append(conv(num_features, num_features, kernel_size))
        if batch_norm:
            layers.append(nn.BatchNorm2d(num_features))
        self.body = nn.Sequential(*layers)
        self.res_scale = res_scale

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x + self.res_scale * self.body(x)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation channel attention (RCAN): global average pool, 1x1 down by `reduction`,
    ReLU, 1x1 up, sigmoid, and rescale the input's channels."""

    def __init__(self, num_features: int, reduction: int = 16) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(num_features, num_features // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(num_features // reduction, num_features, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x * self.gate(x)


class MeanShift(nn.Module):
    """Subtract (or with `sign=+1` add back) a fixed RGB mean, scaled by `rgb_range`.

    The mean is a buffer, not a parameter: EDSR, RCAN and CARN normalise by the DIV2K mean this way.
    """

    DIV2K_MEAN = (0.4488, 0.4371, 0.4040)

    def __init__(self, sign: int = -1, mean: tuple[float, float, float] = DIV2K_MEAN, rgb_range: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("shift", sign * rgb_range * torch.tensor(mean).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        # (B, 3, H, W) -> (B, 3, H, W)
        return x + self.shift.to(x.dtype)
