"""EDSR and MDSR: "Enhanced Deep Residual Networks for Single Image Super-Resolution", Lim, Son, Kim, Nah,
Lee (CVPR Workshops 2017).

EDSR works on the RGB LR image: the DIV2K mean is subtracted, a head convolution makes `num_features` maps,
`num_blocks` residual blocks without batch norm (conv-ReLU-conv, residual scaled by `res_scale`) and a
convolution form the body, with a global skip around it, then a sub-pixel upsampler and a tail
convolution back to RGB, and the mean is added back. The paper's EDSR is 32 blocks of 256 features with
residual scaling 0.1 (our defaults); its baseline is 16 blocks of 64 features without scaling.

MDSR shares one body (80 blocks of 64 features) between x2, x3 and x4: each scale has its own
pre-processing (two residual blocks of 5x5 convolutions) after the head and its own upsampler. `forward`
takes the branch of `self.scale`, which can change between calls for multi-scale training.

Like the official code, both work on pixel values in [0, `rgb_range`] (255): the [0, 1] input is scaled
up inside the model and the output scaled back, so official weights keep their meaning. The mean shift is
a fixed buffer, not a parameter (a frozen 1x1 convolution in the official code, whose 2 x 12 values our
parameter counts leave out); a model with 1 input or output channel skips it.
"""

from torch import Tensor, nn

from srlab.models.blocks import MeanShift, ResidualBlock, Upsampler, conv
from srlab.models.contract import SRNet


class EDSR(SRNet):
    build_scales = (2, 3, 4)

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 256,
        num_blocks: int = 32,
        res_scale: float = 0.1,
        rgb_range: float = 255.0,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        self.rgb_range = rgb_range
        self.sub_mean = MeanShift(-1, rgb_range=rgb_range) if in_channels == 3 else nn.Identity()
        self.head = conv(in_channels, num_features)
        blocks = [ResidualBlock(num_features, res_scale=res_scale) for _ in range(num_blocks)]
        self.body = nn.Sequential(*blocks, conv(num_features, num_features))
        self.upsample = Upsampler(num_features, scale)
        self.tail = conv(num_features, out_channels)
        self.add_mean = MeanShift(+1, rgb_range=rgb_range) if out_channels == 3 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) in [0, 1] -> (B, F, H, W)
        x = self.head(self.sub_mean(x * self.rgb_range))
        x = x + self.body(x)
        # (B, F, H, W) -> (B, C, sH, sW) in [0, 1]
        return self.add_mean(self.tail(self.upsample(x))) / self.rgb_range


class MDSR(SRNet):
    build_scales = (2, 3, 4)

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 64,
        num_blocks: int = 80,
        rgb_range: float = 255.0,
    ) -> None:
        super().__init__(scale, in_channels, out_channels, run_scales=self.build_scales)
        self.rgb_range = rgb_range
        self.sub_mean = MeanShift(-1, rgb_range=rgb_range) if in_channels == 3 else nn.Identity()
        self.head = conv(in_channels, num_features)
        self.pre_process = nn.ModuleDict(
            {str(s): nn.Sequential(*(ResidualBlock(num_features, 5) for _ in range(2))) for s in self.run_scales}
        )
        blocks = [ResidualBlock(num_features) for _ in range(num_blocks)]
        self.body = nn.Sequential(*blocks, conv(num_features, num_features))
        self.upsample = nn.ModuleDict({str(s): Upsampler(num_features, s) for s in self.run_scales})
        self.tail = conv(num_features, out_channels)
        self.add_mean = MeanShift(+1, rgb_range=rgb_range) if out_channels == 3 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        branch = str(self.scale)
        # (B, C, H, W) in [0, 1] -> (B, F, H, W)
        x = self.pre_process[branch](self.head(self.sub_mean(x * self.rgb_range)))
        x = x + self.body(x)
        # (B, F, H, W) -> (B, C, sH, sW) in [0, 1]
        return self.add_mean(self.tail(self.upsample[branch](x))) / self.rgb_range
