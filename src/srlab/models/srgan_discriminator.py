"""The discriminator of SRGAN: "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network", Ledig et al. (CVPR 2017), Figure 4.

Eight 3x3 convolutions with LeakyReLU (slope 0.2), 64 maps at stride 1, then 64, 128, 128, 256, 256, 512,
512 maps at strides 2, 1, 2, 1, 2, 1, 2, each of these seven followed by batch norm; a dense layer of 1024
units, LeakyReLU, and a dense layer to one logit. For the paper's 96x96 HR patches the dense layer sees
512 maps of 6x6: 23,563,649 parameters.

Decided here (the paper leaves them open):
- The paper's final sigmoid is left to the adversarial loss: the output is a logit.
- Convolutions in front of batch norm have no bias (batch norm's shift makes it redundant), as in
  ESRGAN's VGG-128 discriminator, which descends from this one.
- The input, RGB in [0, 1] as everywhere in srlab, is mapped to [-1, 1], the range the paper trains on.
"""

from torch import Tensor, nn


class SRGANDiscriminator(nn.Module):
    """RGB patch (B, 3, input_size, input_size) in [0, 1] -> real/fake logit (B, 1).

    `input_size` is the HR patch size, a multiple of 16 (four stride-2 convolutions).
    """

    def __init__(self, in_channels: int = 3, num_features: int = 64, input_size: int = 96) -> None:
        super().__init__()
        if input_size <= 0 or input_size % 16:
            raise ValueError(f"SRGANDiscriminator input_size must be a positive multiple of 16, got {input_size}")
        self.input_size = input_size
        widths = [num_features * m for m in (1, 1, 2, 2, 4, 4, 8, 8)]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        for i in range(1, len(widths)):
            stride = 2 if i % 2 else 1
            layers += [
                nn.Conv2d(widths[i - 1], widths[i], 3, stride=stride, padding=1, bias=False),
                nn.BatchNorm2d(widths[i]),
                nn.LeakyReLU(0.2, inplace=True),
            ]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(widths[-1] * (input_size // 16) ** 2, 1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(
                f"SRGANDiscriminator takes {self.input_size}x{self.input_size} patches (input_size), "
                f"got {tuple(x.shape[-2:])}"
            )
        # (B, C, S, S) -> (B, 8F, S/16, S/16) -> (B, 1)
        return self.classifier(self.features(x * 2 - 1))
