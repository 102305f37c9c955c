"""CMSC: "Single Image Super-Resolution via Cascaded Multi-Scale Cross Network", Hu, Gao, Li, Huang, Wang
(arXiv 1802.08808, 2018).

Works on the bicubic-upscaled Y channel, like VDSR. A feature extraction network (two 3x3 convolutions,
64 maps) gives the LR features F0, then a cascade of subnetworks refines them coarse to fine. Each
subnetwork stacks multi-scale cross (MSC) modules: two residual branches with 3x3 and 5x5 receptive
fields (the 5x5 one as two 3x3 convolutions) crossed by merge-and-run mappings, each branch adding its
output to the average of both branch inputs. The subnetwork fuses its two streams (average, then
ReLU + 3x3 convolution) into residual features, and its output is F0 plus those (residual-features
learning). A reconstruction layer (ReLU + 3x3 convolution), shared by all stages, turns each stage's
features into a residual image added to the input, and the final image is a learned weighted average
of these intermediate predictions. The net is trained with cascaded supervision: in training mode it
returns `[prediction_1, ..., prediction_K, final]`.

The paper's text was not available when this was written: the depth (4 subnetworks of 3 MSC modules),
pre-activation without batch normalisation, the fusion and reconstruction layers and the initial
assembly weights (1/K) are decisions, not checked against the paper's tables.
"""

import torch
from torch import Tensor, nn

from srlab.models.blocks import conv
from srlab.models.contract import SRNet


class _MSCModule(nn.Module):
    """(a, b) -> (m + branch3(a), m + branch5(b)) with m = (a + b) / 2."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        f = num_features
        self.branch3 = nn.Sequential(nn.ReLU(), conv(f, f))
        self.branch5 = nn.Sequential(nn.ReLU(), conv(f, f), nn.ReLU(inplace=True), conv(f, f))

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        # (B, F, H, W) x 2 -> (B, F, H, W) x 2
        merged = (a + b) / 2
        return merged + self.branch3(a), merged + self.branch5(b)


class _SubNetwork(nn.Module):
    def __init__(self, num_features: int, num_blocks: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_MSCModule(num_features) for _ in range(num_blocks))
        self.fuse = nn.Sequential(nn.ReLU(), conv(num_features, num_features))

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> residual features (B, F, H, W)
        a = b = x
        for block in self.blocks:
            a, b = block(a, b)
        return self.fuse((a + b) / 2)


class CMSC(SRNet):
    pre_upsampled = True

    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: int = 64,
        num_groups: int = 4,
        num_blocks: int = 3,
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if in_channels != out_channels:
            raise ValueError(f"CMSC adds its output to the input: in_channels {in_channels} != {out_channels}")
        self.extraction = nn.Sequential(
            conv(in_channels, num_features), nn.ReLU(inplace=True), conv(num_features, num_features)
        )
        self.subnetworks = nn.ModuleList(_SubNetwork(num_features, num_blocks) for _ in range(num_groups))
        self.reconstruction = nn.Sequential(nn.ReLU(), conv(num_features, out_channels))
        self.assembly = nn.Parameter(torch.full((num_groups,), 1.0 / num_groups))

    def forward(self, x: Tensor) -> Tensor | list[Tensor]:
        # (B, C, sH, sW) bicubic-upscaled -> (B, F, sH, sW)
        lr_features = self.extraction(x)
        features, predictions = lr_features, []
        for subnetwork in self.subnetworks:
            features = lr_features + subnetwork(features)
            # (B, F, sH, sW) -> (B, C, sH, sW)
            predictions.append(x + self.reconstruction(features))
        # K x (B, C, sH, sW) -> (B, C, sH, sW)
        final = torch.einsum("k,kbchw->bchw", self.assembly, torch.stack(predictions))
        return [*predictions, final] if self.training else final
