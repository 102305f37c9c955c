"""FSRCNN: "Accelerating the Super-Resolution Convolutional Neural Network", Dong, Loy, Tang
(ECCV 2016).

Works on the LR Y channel: feature extraction (5x5, d), shrinking (1x1, s), m mappings (3x3, s),
expanding (1x1, d), all with PReLU, then a 9x9 deconvolution with stride `scale`.
FSRCNN is (d, s, m) = (56, 12, 4); FSRCNN-s is (32, 5, 1).
"""

from torch import Tensor, nn

from srlab.models.contract import SRNet


def _conv_prelu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
    # He et al.'s initialisation for PReLU in its fan-out form, std sqrt(2 / ((1 + a^2) k^2 out)): with
    # the fan-in form the expanding layer (12 -> 56) starts twice as large and the
    # paper's SGD recipe (lr 1e-3 on Caffe's summed loss) diverges within 50 steps.
    nn.init.kaiming_normal_(conv.weight, a=0.25, mode="fan_out", nonlinearity="leaky_relu")
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.PReLU(out_channels))


class FSRCNN(SRNet):
    def __init__(
        self, scale: int, in_channels: int = 1, out_channels: int = 1, d: int = 56, s: int = 12, m: int = 4
    ) -> None:
        super().__init__(scale, in_channels, out_channels)
        self.extraction = _conv_prelu(in_channels, d, 5)
        self.shrinking = _conv_prelu(d, s, 1)
        self.mapping = nn.Sequential(*(_conv_prelu(s, s, 3) for _ in range(m)))
        self.expanding = _conv_prelu(s, d, 1)
        self.deconvolution = nn.ConvTranspose2d(d, out_channels, 9, stride=scale, padding=4, output_padding=scale - 1)
        nn.init.normal_(self.deconvolution.weight, std=1e-3)  # paper: N(0, 0.001) for the deconvolution
        nn.init.zeros_(self.deconvolution.bias)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, d, H, W)
        x = self.expanding(self.mapping(self.shrinking(self.extraction(x))))
        # (B, d, H, W) -> (B, C, sH, sW)
        return self.deconvolution(x)
