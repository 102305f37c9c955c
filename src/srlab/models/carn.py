"""CARN and CARN-M: "Fast, Accurate, and Lightweight Super-Resolution with Cascading Residual Network",
Ahn, Kang, Sohn (ECCV 2018).

RGB LR input, shifted by the DIV2K mean. A 3x3 entry convolution (64 maps), then a cascade of three
blocks: after each block the entry features and every block output so far are concatenated and fused
by a 1x1 convolution + ReLU, whose output feeds the next block (global cascading). Each block does the
same over three residual units (local cascading). An upsampler (3x3 convolution + ReLU + pixel shuffle,
two x2 steps for x4) and a 3x3 exit convolution give the RGB image.

CARN's residual unit is conv-ReLU-conv, identity add, ReLU. CARN-M (mobile) uses the efficient residual
unit (3x3 group conv, ReLU, 3x3 group conv, ReLU, 1x1 conv, add, ReLU; 4 groups), shares one unit across
the three positions of a block (recursion), and groups the upsampling convolutions too (`groups`, which
for CARN groups only the upsampler, like the official code's `group`).

The paper trains one model for x2, x3 and x4 (`multi_scale`: one upsampler per scale, `self.scale`
picks one at call time) and its parameter counts, CARN 1,592K and CARN-M 412K, include all three
upsamplers (author, CARN-pytorch issues #2 and #47). With `multi_scale=False` only the upsampler of
`scale` is built, the single-scale models of the official code (x4: CARN 1,112K, CARN-M 294K).
The official code holds its mean shifts as frozen 1x1 convolutions (24 parameters it counts: 1,591,963
for CARN); here they are buffers. The official CARN-M counts 414,787 parameters (+24), a little more
than the paper's 412K; this follows the code.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srlab.models.blocks import MeanShift, Upsampler, conv
from srlab.models.contract import SRNet


class _ResidualUnit(nn.Module):
    """CARN: relu(x + conv(relu(conv(x))))."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(num_features, num_features), nn.ReLU(inplace=True), conv(num_features, num_features)
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return F.relu(x + self.body(x))


class _EfficientResidualUnit(nn.Module):
    """CARN-M: relu(x + conv1x1(relu(gconv(relu(gconv(x))))))."""

    def __init__(self, num_features: int, groups: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv(num_features, num_features, groups=groups),
            nn.ReLU(inplace=True),
            conv(num_features, num_features, groups=groups),
            nn.ReLU(inplace=True),
            conv(num_features, num_features, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        return F.relu(x + self.body(x))


class _Cascade(nn.Module):
    """Units in sequence; after unit i, everything so far is concatenated and fused by 1x1 conv + ReLU.

    The same module may appear several times in `units` (CARN-M's recursion shares its weights).
    """

    def __init__(self, units: list[nn.Module], num_features: int) -> None:
        super().__init__()
        self.units = nn.ModuleList(units)
        self.fusions = nn.ModuleList(
            nn.Sequential(conv((i + 2) * num_features, num_features, 1), nn.ReLU(inplace=True))
            for i in range(len(units))
        )

    def forward(self, x: Tensor) -> Tensor:
        # (B, F, H, W) -> (B, F, H, W); `cascade` grows to (B, (i + 2) F, H, W)
        cascade, out = x, x
        for unit, fuse in zip(self.units, self.fusions):
            cascade = torch.cat([cascade, unit(out)], dim=1)
            out = fuse(cascade)
        return out


class CARN(SRNet):
    build_scales = (2, 3, 4)
    units_per_block = 3

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 64,
        num_blocks: int = 3,
        multi_scale: bool = True,
        groups: int = 1,
        mobile: bool = False,
    ) -> None:
        super().__init__(scale, in_channels, out_channels, run_scales=self.build_scales if multi_scale else None)
        if in_channels != 3 or out_channels != 3:
            raise ValueError(f"CARN works on RGB images (3 channels), got {in_channels} -> {out_channels}")
        self.sub_mean, self.add_mean = MeanShift(sign=-1), MeanShift(sign=+1)
        self.entry = conv(in_channels, num_features)
        blocks: list[nn.Module] = []
        for _ in range(num_blocks):
            if mobile:
                units = [_EfficientResidualUnit(num_features, groups)] * self.units_per_block
            else:
                units = [_ResidualUnit(num_features) for _ in range(self.units_per_block)]
            blocks.append(_Cascade(units, num_features))
        self.body = _Cascade(blocks, num_features)
        # The official code's ReLU sits before each pixel shuffle, Upsampler's after: the same function.
        self.upsample = nn.ModuleDict(
            {str(s): Upsampler(num_features, s, act=nn.ReLU, groups=groups) for s in self.run_scales}
        )
        self.exit = conv(num_features, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        # (B, 3, H, W) -> (B, F, H, W)
        x = self.entry(self.sub_mean(x))
        # (B, F, H, W) -> (B, F, sH, sW), s = self.scale at call time
        x = self.upsample[str(self.scale)](self.body(x))
        # (B, F, sH, sW) -> (B, 3, sH, sW)
        return self.add_mean(self.exit(x))


class CARNM(CARN):
    """CARN-M: efficient residual units with 4-group convolutions, shared within each block."""

    def __init__(
        self,
        scale: int,
        in_channels: int = 3,
        out_channels: int = 3,
        num_features: int = 64,
        num_blocks: int = 3,
        multi_scale: bool = True,
        groups: int = 4,
    ) -> None:
        super().__init__(scale, in_channels, out_channels, num_features, num_blocks, multi_scale, groups, mobile=True)
