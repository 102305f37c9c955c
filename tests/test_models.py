"""Model contract, output shapes, parameter counts, and how the system feeds Y and RGB nets."""

import pytest
import torch
from torch import nn

from srlab.models import ESPCN, FSRCNN, SRCNN, Bicubic
from srlab.models.contract import SRNet
from srlab.ops import imresize
from srlab.systems import SRSystem


@pytest.mark.parametrize("cls", [Bicubic, SRCNN, FSRCNN, ESPCN])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_forward_shapes(cls, scale):
    net = cls(scale=scale)
    size = (10 * scale, 12 * scale) if net.pre_upsampled else (10, 12)
    out = net(torch.rand(2, net.in_channels, *size))
    assert out.shape == (2, net.out_channels, 10 * scale, 12 * scale)


def test_parameter_counts():
    count = lambda m: sum(p.numel() for p in m.parameters())
    # SRCNN 9-1-5: (81*64 + 64) + (64*32 + 32) + (25*32 + 1)
    assert count(SRCNN(scale=3)) == 5248 + 2080 + 801
    assert count(SRCNN(scale=3, kernel_sizes=(9, 5, 5))) == 5248 + (25 * 64 * 32 + 32) + 801
    # FSRCNN(56, 12, 4): convs and biases, PReLU slopes, 9x9 deconvolution
    convs = (25 * 56 + 56) + (56 * 12 + 12) + 4 * (9 * 144 + 12) + (12 * 56 + 56) + (81 * 56 + 1)
    assert count(FSRCNN(scale=3)) == convs + 56 + 12 + 4 * 12 + 56
    # ESPCN x3: 5x5x64, 3x3x32, 3x3 to 9 maps
    assert count(ESPCN(scale=3)) == (25 * 64 + 64) + (9 * 64 * 32 + 32) + (9 * 32 * 9 + 9)
    assert count(Bicubic(scale=3)) == 0
    # The papers count convolution weights only: SRCNN 8,032 / 24,416 / 57,184, FSRCNN 12,464, FSRCNN-s 3,937.
    weights = lambda m: sum(p.numel() for n, p in m.named_parameters() if n.endswith("weight") and p.ndim == 4)
    assert [weights(SRCNN(scale=3, kernel_sizes=k)) for k in ((9, 1, 5), (9, 3, 5), (9, 5, 5))] == [8032, 24416, 57184]
    assert weights(FSRCNN(scale=3)) == 12464 and weights(FSRCNN(scale=3, d=32, s=5, m=1)) == 3937
    with pytest.raises(ValueError, match="kernel_sizes"):
        SRCNN(scale=2, kernel_sizes=(9, 5))


class EchoY(SRNet):
    """A 'net' that returns its (bicubic-upscaled) Y input: to_rgb must give back the bicubic image."""

    pre_upsampled = True

    def __init__(self) -> None:
        super().__init__(2, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_system_feeds_y_nets_and_merges_bicubic_cbcr():
    system = SRSystem(EchoY(), nn.MSELoss(), optimizer=None)
    lr = torch.rand(1, 3, 6, 7)
    bicubic = imresize(lr, 2)
    y = system(lr)
    assert y.shape == (1, 1, 12, 14)
    torch.testing.assert_close(system.to_rgb(y, bicubic), bicubic.clamp(0, 1), atol=1e-5, rtol=0)
    rgb_system = SRSystem(Bicubic(scale=2), nn.MSELoss(), optimizer=None)
    torch.testing.assert_close(rgb_system(lr), bicubic)
    assert rgb_system.target(bicubic) is bicubic


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_deconv_as_subpixel_is_the_same_function_as_fsrcnns_deconvolution(scale):
    from srlab.models import FSRCNN
    from srlab.models.blocks import deconv_as_subpixel

    deconv = FSRCNN(scale).deconvolution
    torch.nn.init.normal_(deconv.weight)
    torch.nn.init.normal_(deconv.bias)
    x = torch.randn(2, 56, 9, 11, dtype=torch.float64)
    subpixel = deconv_as_subpixel(deconv.double())
    assert torch.allclose(subpixel(x), deconv(x), atol=1e-10)
    with pytest.raises(ValueError, match="output = stride x input"):
        deconv_as_subpixel(torch.nn.ConvTranspose2d(4, 1, 9, stride=scale, padding=3))
