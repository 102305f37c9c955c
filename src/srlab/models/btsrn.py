"""BTSRN: "Balanced Two-Stage Residual Networks for Image Super-Resolution", Fan, Shi, Yu, Liu, Han, Yu,
Wang, Wang, Huang (CVPR Workshops / NTIRE 2017).

RGB LR input, centred by subtracting 0.5. A 1x1 convolution to 128 maps, then an LR stage of 6 residual
blocks, an upsampling layer, an HR stage of 4 residual blocks, and a 1x1 convolution to RGB; the net
predicts the residual to the bicubic-upscaled input. The blocks are the paper's lightweight two-layer
"projected convolution" (PConv) design, pre-activated: ReLU, 1x1 projection to 64 maps, ReLU, 3x3
convolution back to 128, identity skip. Upsampling is the element-wise sum of nearest-neighbour
upsampling and a deconvolution (kernel = stride = r) of the activated features; x4 is two x2 steps
with a residual block between them.

Widths, the 1x1 head and tail, the x4 path, the -0.5 input shift and the bicubic residual follow the
authors' code (ychfan/sr_ntire2017). That code crops a pixel per 3x3 convolution (valid padding);
here convolutions are zero-padded so sizes are kept. Its last version used leaky ReLU of unstated slope
where earlier ones used ReLU; this uses ReLU.
"""

from torch import Tensor, nn
from torch.nn import functional as F

from srlab.models.blocks import conv
from srlab.models.contract import SRNet
from srlab.ops import imresize


class _PConvBlock(nn.Module):
    """x + conv3x3(relu(conv1x1(relu(x)))), through `bottleneck` maps."""

    def __init__(self, num_features: int, bottleneck: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            conv(num_features, bottleneck, 1),
            nn.ReLU(inplace=True),
            conv(bottleneck, num_features, 3),
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return x + self.body(x)


class _Upsample(nn.Module):
    """nearest(x) + deconv(relu(x)), both by `factor`."""

    def __init__(self, num_features: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.deconv = nn.ConvTranspose2d(num_features, num_features, factor, stride=factor)

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, rH, rW)
        return F.interpolate(x, scale_factor=self.factor, mode="nearest") + self.deconv(F.relu(x))


class BTSRN(SRNet):
    build_scales = (2, 3, 4)

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 128,
        bottleneck: int = 64,
        num_lr_blocks: int = 6,
        num_hr_blocks: int = 4,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(
                f"BTSRN adds its output to the upscaled input: in_channels {in_channels} != {out_channels}"
            )
        self.head = conv(in_channels, num_features, 1)
        self.lr_stage = nn.Sequential(*(_PConvBlock(num_features, bottleneck) for _ in range(num_lr_blocks)))
        if scale == 4:
            self.upsample = nn.Sequential(
                _Upsample(num_features, 2), _PConvBlock(num_features, bottleneck), _Upsample(num_features, 2)
            )
        else:
            self.upsample = nn.Sequential(_Upsample(num_features, scale))
        self.hr_stage = nn.Sequential(*(_PConvBlock(num_features, bottleneck) for _ in range(num_hr_blocks)))
        self.tail = nn.Sequential(nn.ReLU(), conv(num_features, out_channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, F, H, W)
        features = self.lr_stage(self.head(x - 0.5))
        # (B, F, H, W) -> (B, F, sH, sW) -> (B, C, sH, sW)
        residual = self.tail(self.hr_stage(self.upsample(features)))
        return imresize(x, self.scale) + residual
