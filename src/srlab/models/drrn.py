"""DRRN: "Image Super-Resolution via Deep Recursive Residual Network", Ying Tai, Jian Yang, Xiaoming Liu
(CVPR 2017).

Works on the bicubic-upscaled Y channel. `num_blocks` (B) recursive blocks of 128 maps; each starts with
its own 3x3 convolution, then runs `num_units` (U) residual units that share the block's two 3x3
convolutions: h_u = h_0 + conv_b(act(conv_a(act(h_{u-1})))), where h_0 is the block's first output
(multi-path local residual learning). A last 3x3 convolution maps back to the image, and the input is
added (global residual). Every convolution is pre-activated (BN, ReLU, conv), the first one included.
Depth is (1 + 2U) B + 1 convolutions: B1U9 has 20, B1U25 has 52; both have the same 297,216 weights.

Batch norm follows the official Caffe models (tyshiwo/DRRN_CVPR17): each pre-activation has its own
batch norm with a learned scale and shift, not shared across units even where the convolutions are;
`batch_norm=False` drops them. He initialisation, zero biases.
"""

from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet


def _act(channels: int, batch_norm: bool) -> nn.Module:
    # Not in-place: the input of a unit's first activation is also its skip source.
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU()) if batch_norm else nn.ReLU()


class _RecursiveBlock(nn.Module):
    def __init__(self, in_channels: int, num_features: int, num_units: int, batch_norm: bool) -> None:
        super().__init__()
        self.head = nn.Sequential(_act(in_channels, batch_norm), conv(in_channels, num_features))
        self.conv_a, self.conv_b = conv(num_features, num_features), conv(num_features, num_features)
        self.acts = nn.ModuleList(
            nn.ModuleList([_act(num_features, batch_norm), _act(num_features, batch_norm)]) for _ in range(num_units)
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, C_in, H, W) -> (B, F, H, W)
        source = self.head(x)
        h = source
        for act_a, act_b in self.acts:
            h = source + self.conv_b(act_b(self.conv_a(act_a(h))))
        return h


class DRRN(SRNet):
    pre_upsampled = True

    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: int = 128,
        num_blocks: int = 1,
        num_units: int = 9,
        batch_norm: bool = True,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(
                f"DRRN adds its input to its output: in_channels {in_channels} != out_channels {out_channels}"
            )
        self.blocks = nn.Sequential(
            *(
                _RecursiveBlock(in_channels if b == 0 else num_features, num_features, num_units, batch_norm)
                for b in range(num_blocks)
            )
        )
        self.tail = nn.Sequential(_act(num_features, batch_norm), conv(num_features, out_channels))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, sH, sW) bicubic-upscaled -> (B, F, sH, sW) -> (B, C, sH, sW)
        return x + self.tail(self.blocks(x))
