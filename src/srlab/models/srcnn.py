"""SRCNN: "Image Super-Resolution Using Deep Convolutional Networks", Dong, Loy, He, Tang (ECCV 2014,
TPAMI 2016).

Three convolutions on the bicubic-upscaled Y channel: patch extraction (9x9, 64), non-linear
mapping (1x1, 32) and reconstruction (5x5). `kernel_sizes` (9, 3, 5) or (9, 5, 5) give the paper's
larger variants. The paper trains without padding and scores the valid centre; here every
convolution is zero-padded so the output keeps the input's size, as most re-implementations do.
"""

from collections.abc import Sequence

from torch import Tensor, nn

from srlab.models.contract import SRNet


class SRCNN(SRNet):
    pre_upsampled = True

    def __init__(
        self,
        scale: int,
        in_channels: int = 1,
        out_channels: int = 1,
        num_features: Sequence[int] = (64, 32),
        kernel_sizes: Sequence[int] = (9, 1, 5),
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        if len(num_features) != 2 or len(kernel_sizes) != 3:
            raise ValueError(
                f"SRCNN takes 2 num_features and 3 kernel_sizes, got {list(num_features)} and {list(kernel_sizes)}"
            )
        f1, f2 = num_features
        k1, k2, k3 = kernel_sizes
        self.extraction = nn.Conv2d(in_channels, f1, k1, padding=k1 // 2)
        self.mapping = nn.Conv2d(f1, f2, k2, padding=k2 // 2)
        self.reconstruction = nn.Conv2d(f2, out_channels, k3, padding=k3 // 2)
        self.act = nn.ReLU(inplace=True)
        for conv in (self.extraction, self.mapping, self.reconstruction):  # paper: N(0, 0.001), zero bias
            nn.init.normal_(conv.weight, std=1e-3)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, sH, sW) bicubic-upscaled -> (B, C, sH, sW)
        x = self.act(self.extraction(x))
        x = self.act(self.mapping(x))
        return self.reconstruction(x)
