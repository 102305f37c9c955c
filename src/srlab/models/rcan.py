"""RCAN: "Image Super-Resolution Using Very Deep Residual Channel Attention Networks", Zhang, Li, Li, Wang,
Zhong, Fu (ECCV 2018).

Residual in residual on the RGB LR image: after the DIV2K mean shift and a head convolution,
`num_groups` residual groups, each `num_blocks` residual channel attention blocks (conv-ReLU-conv, then
squeeze-and-excitation channel attention with channel `reduction`, and an identity skip) and a
convolution with a short skip around them, then a convolution and a long skip around all groups, a
sub-pixel upsampler and a tail convolution back to RGB. The paper's network is 10 groups of 20 blocks,
64 features, reduction 16.

As in the official code (built on EDSR's), pixel values are in [0, `rgb_range`] (255) inside the model,
the [0, 1] input being scaled up and the output scaled back; the mean shift is a fixed buffer, not a
parameter, and is skipped for 1-channel input or output.
"""

from torch import Tensor, nn

from srlab.models.blocks import ChannelAttention, MeanShift, Upsampler, conv
from srlab.models.contract import SRNet


class RCAB(nn.Sequential):
    """Residual channel attention block: x + CA(conv(ReLU(conv(x))))."""

    def __init__(self, num_features: int, reduction: int) -> None:
        super().__init__(
            conv(num_features, num_features),
            nn.ReLU(inplace=True),
            conv(num_features, num_features),
            ChannelAttention(num_features, reduction),
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x + super().forward(x)


class ResidualGroup(nn.Sequential):
    """`num_blocks` RCABs and a convolution, with a short skip connection."""

    def __init__(self, num_features: int, num_blocks: int, reduction: int) -> None:
        super().__init__(*(RCAB(num_features, reduction) for _ in range(num_blocks)), conv(num_features, num_features))

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x + super().forward(x)


class RCAN(SRNet):
    build_scales = (2, 3, 4, 8)

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 64,
        num_groups: int = 10,
        num_blocks: int = 20,
        reduction: int = 16,
        rgb_range: float = 255.0,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        self.rgb_range = rgb_range
        self.sub_mean = MeanShift(-1, rgb_range=rgb_range) if in_channels == 3 else nn.Identity()
        self.head = conv(in_channels, num_features)
        groups = [ResidualGroup(num_features, num_blocks, reduction) for _ in range(num_groups)]
        self.body = nn.Sequential(*groups, conv(num_features, num_features))
        self.upsample = Upsampler(num_features, scale)
        self.tail = conv(num_features, out_channels)
        self.add_mean = MeanShift(+1, rgb_range=rgb_range) if out_channels == 3 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) in [0, 1] -> (B, F, H, W)
        x = self.head(self.sub_mean(x * self.rgb_range))
        x = x + self.body(x)
        # (B, F, H, W) -> (B, C, sH, sW) in [0, 1]
        return self.add_mean(self.tail(self.upsample(x))) / self.rgb_range
