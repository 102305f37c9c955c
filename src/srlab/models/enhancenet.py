"""EnhanceNet generator: "EnhanceNet: Single Image Super-Resolution Through Automated Texture Synthesis",
Sajjadi, Schölkopf, Hirsch (ICCV 2017).

On the RGB LR image less a per-channel mean: a 3x3 convolution (64 maps) with ReLU, 10 residual blocks
(conv-ReLU-conv), two x2 nearest-neighbour upsamplings each followed by a convolution with ReLU, a
convolution with ReLU and a convolution to RGB, added to the bicubic-upscaled input. All convolutions
are 3x3 with biases, as in the official code (msmsajjadi/EnhanceNet-Code): 852,867 parameters, x4 only.

The official code upscales with TensorFlow's bicubic resize; here it is MATLAB's, as everywhere in
srlab. Its mean is subtracted from the network's input only, which leaves the bicubic image unchanged.
"""

from torch import Tensor, nn

from srlab.models.blocks import MeanShift, ResidualBlock, conv
from srlab.models.contract import SRNet
from srlab.ops import imresize

ENHANCENET_MEAN = (0.47614917, 0.45001204, 0.40904046)  # PER_CHANNEL_MEANS of the official code


def _up_conv_relu(num_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv(num_features, num_features), nn.ReLU())


class EnhanceNet(SRNet):
    build_scales = (4,)

    def __init__(
        self, scale: int, in_channels: int = 3, out_channels: int = 3, num_features: int = 64, num_blocks: int = 10
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != 3 or out_channels != 3:
            raise ValueError("EnhanceNet works on RGB: in_channels and out_channels must be 3")
        self.sub_mean = MeanShift(-1, ENHANCENET_MEAN)
        self.head = nn.Sequential(conv(in_channels, num_features), nn.ReLU())
        self.body = nn.Sequential(*(ResidualBlock(num_features, act=nn.ReLU) for _ in range(num_blocks)))
        self.tail = nn.Sequential(
            _up_conv_relu(num_features),
            _up_conv_relu(num_features),
            conv(num_features, num_features),
            nn.ReLU(),
            conv(num_features, out_channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, 3, H, W) -> (B, F, H, W)
        features = self.body(self.head(self.sub_mean(x)))
        # (B, F, H, W) -> (B, 3, 4H, 4W), a residual on the bicubic image
        return imresize(x, self.scale) + self.tail(features)
