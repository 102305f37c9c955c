"""The discriminator of ESRGAN: "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", Wang et al.
(ECCV Workshops 2018), the "VGG-128" network of the official code (BasicSR's `VGGStyleDiscriminator`).

Stages of two convolutions, each with LeakyReLU (slope 0.2): a 3x3 convolution at stride 1, then a 4x4
convolution at stride 2 that halves the size; 64, 128, 256, 512, 512 maps for a 128x128 input, down to
4x4. Batch norm follows every convolution but the first, which alone has a bias. Then a dense layer of
100 units, LeakyReLU, and a dense layer to one logit. 14,499,401 parameters at 128x128, as the official
code. `input_size=256` adds a sixth 512-map stage (BasicSR's other option); any power of two from 32 on
works the same way. The input is RGB in [0, 1], as the official code feeds it.
"""

from itertools import pairwise

from torch import Tensor, nn


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    ]


class VGGDiscriminator(nn.Module):
    """RGB patch (B, 3, input_size, input_size) in [0, 1] -> real/fake logit (B, 1).

    `input_size`, the HR patch size, is a power of two from 32 on: one stage per halving down to 4x4.
    """

    def __init__(self, in_channels: int = 3, num_features: int = 64, input_size: int = 128) -> None:
        super().__init__()
        if input_size < 32 or input_size & (input_size - 1):
            raise ValueError(f"VGGDiscriminator input_size must be a power of two >= 32, got {input_size}")
        self.input_size = input_size
        num_stages = input_size.bit_length() - 3  # 128 -> 5 stages -> 4x4
        widths = [num_features * 2 ** min(i, 3) for i in range(num_stages)]
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            *_conv_bn(widths[0], widths[0], 4, 2),
        ]
        for before, width in pairwise(widths):
            layers += _conv_bn(before, width, 3, 1) + _conv_bn(width, width, 4, 2)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(widths[-1] * 4 * 4, 100),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(100, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(
                f"VGGDiscriminator takes {self.input_size}x{self.input_size} patches (input_size), "
                f"got {tuple(x.shape[-2:])}"
            )
        # (B, C, S, S) -> (B, 8F, 4, 4) -> (B, 1)
        return self.classifier(self.features(x))
