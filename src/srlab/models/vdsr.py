"""VDSR: "Accurate Image Super-Resolution Using Very Deep Convolutional Networks", Jiwon Kim, Jung Kwon Lee,
Kyoung Mu Lee (CVPR 2016).

Twenty 3x3 convolutions on the bicubic-upscaled Y channel: the first maps the image to 64 maps, 18 map 64
to 64, the last maps back to the image; all but the last are followed by ReLU, and every layer is
zero-padded so sizes never shrink. The network predicts the residual, added back to its input (global
residual learning). One model serves every scale (trained on x2, x3 and x4 together). He initialisation,
zero biases.
"""

from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet


class VDSR(SRNet):
    pre_upsampled = True

    def __init__(
        self, scale: int, in_channels: int = 1, out_channels: int = 1, num_features: int = 64, num_layers: int = 20
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(
                f"VDSR adds its input to its output: in_channels {in_channels} != out_channels {out_channels}"
            )
        layers: list[nn.Module] = [conv(in_channels, num_features), nn.ReLU(inplace=True)]
        for _ in range(num_layers - 2):
            layers += [conv(num_features, num_features), nn.ReLU(inplace=True)]
        layers.append(conv(num_features, out_channels))
        self.body = nn.Sequential(*layers)
        for m in self.body.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, sH, sW) bicubic-upscaled -> (B, C, sH, sW)
        return x + self.body(x)
