"""DRCN: "Deeply-Recursive Convolutional Network for Image Super-Resolution", Jiwon Kim, Jung Kwon Lee,
Kyoung Mu Lee (CVPR 2016).

Works on the bicubic-upscaled Y channel. An embedding net (two 3x3 convolutions to 256 maps, ReLU) feeds
one 3x3x256 convolution + ReLU applied `num_recursions` (16) times with the same weights. After every
recursion the shared reconstruction net (3x3 conv 256 -> 256, ReLU, 3x3 conv 256 -> image) predicts the
residual and the input is added back (skip connection), giving D predictions; the output is their
weighted sum with D learned weights. In training mode the D predictions are returned too, for recursive
supervision: loss = alpha / D * sum_d l(pred_d) + (1 - alpha) * l(final).

Decisions where the paper leaves room: the ensemble weights start at 1 / D and are not normalised;
the recursive convolution starts as the identity (zero except each channel's own centre tap, our reading
of the paper's "zero except self-connections"), the other convolutions use He initialisation; biases start
at zero.
"""

import torch
from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet


class DRCN(SRNet):
    pre_upsampled = True

    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: int = 256,
        num_recursions: int = 16,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(
                f"DRCN adds its input to its output: in_channels {in_channels} != out_channels {out_channels}"
            )
        self.num_recursions = num_recursions
        self.embedding = nn.Sequential(
            conv(in_channels, num_features),
            nn.ReLU(inplace=True),
            conv(num_features, num_features),
            nn.ReLU(inplace=True),
        )
        self.recursive = conv(num_features, num_features)
        self.reconstruction = nn.Sequential(
            conv(num_features, num_features), nn.ReLU(inplace=True), conv(num_features, out_channels)
        )
        self.ensemble = nn.Parameter(torch.full((num_recursions,), 1 / num_recursions))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.recursive.weight.zero_()
            self.recursive.weight[:, :, 1, 1].fill_diagonal_(1.0)

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        # (B, C, sH, sW) bicubic-upscaled -> (B, F, sH, sW)
        h = self.embedding(x)
        predictions = []
        for _ in range(self.num_recursions):
            h = torch.relu(self.recursive(h))
            predictions.append(x + self.reconstruction(h))  # (B, F, sH, sW) -> (B, C, sH, sW)
        final = sum(w * p for w, p in zip(self.ensemble, predictions))
        return [*predictions, final] if self.training else final
