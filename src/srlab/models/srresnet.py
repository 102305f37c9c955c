"""SRResNet, the generator of SRGAN: "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", Ledig, Theis, Huszár, Caballero, Cunningham, Acosta, Aitken, Tejani, Totz, Wang,
Shi (CVPR 2017).

On the RGB LR image: a 9x9 convolution with PReLU, 16 residual blocks (conv-BN-PReLU-conv-BN), a
convolution with batch norm and a skip over the whole body, x2 sub-pixel steps each followed by PReLU,
and a 9x9 convolution to RGB. 1,550,659 parameters at x4 (1,402,883 at x2); the EDSR paper reports
1.5M (Table 1).

Decided here (the paper leaves them open):
- PReLU has one slope per channel, He et al.'s default form (implementations that share one slope per
  layer have 1,549,462 parameters at x4).
- The paper scales HR images to [-1, 1] and shows no activation after the last convolution: that
  convolution predicts in [-1, 1] and the model maps it to [0, 1], so that the output is in [0, 1] as
  everywhere in srlab; no tanh.
- Convolutions keep their bias, also in front of batch norm.
BasicSR's MSRResNet is a different network (no batch norm, ReLU, 3x3 first and last convolutions,
an extra HR convolution): 1,517,571 parameters at x4.
"""

from functools import partial

from torch import Tensor, nn

from srlab.models.blocks import ResidualBlock, Upsampler, conv
from srlab.models.contract import SRNet


class SRResNet(SRNet):
    build_scales = (2, 4)

    def __init__(
        self, scale: int, in_channels: int = 3, out_channels: int = 3, num_features: int = 64, num_blocks: int = 16
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        prelu = partial(nn.PReLU, num_features)  # one slope per channel
        self.head = nn.Sequential(conv(in_channels, num_features, 9), prelu())
        self.body = nn.Sequential(
            *(ResidualBlock(num_features, batch_norm=True, act=prelu) for _ in range(num_blocks)),
            conv(num_features, num_features),
            nn.BatchNorm2d(num_features),
        )
        self.tail = nn.Sequential(Upsampler(num_features, scale, act=prelu), conv(num_features, out_channels, 9))

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, F, H, W)
        x = self.head(x)
        x = x + self.body(x)
        # (B, F, H, W) -> (B, C, sH, sW): the paper's [-1, 1] range mapped to [0, 1]
        return (self.tail(x) + 1) / 2
