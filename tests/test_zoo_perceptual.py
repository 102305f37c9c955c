"""SRResNet, SelNet, EnhanceNet and Johnson et al.'s network: shapes, parameter counts, a few training steps."""

import pytest
import torch
from torch import nn

from srlab.models.enhancenet import EnhanceNet
from srlab.models.johnson import JohnsonSR
from srlab.models.selnet import SelNet
from srlab.models.srresnet import SRResNet
from srlab.ops import imresize

CASES = [
    (SRResNet, 2),
    (SRResNet, 4),
    (SelNet, 2),
    (SelNet, 3),
    (SelNet, 4),
    (EnhanceNet, 4),
    (JohnsonSR, 4),
    (JohnsonSR, 8),
]
IDS = [f"{cls.__name__}-x{scale}" for cls, scale in CASES]


def count(net: nn.Module, biases: bool = True) -> int:
    return sum(p.numel() for name, p in net.named_parameters() if biases or not name.endswith("bias"))


@pytest.mark.parametrize(("cls", "scale"), CASES, ids=IDS)
def test_contract_and_shape(cls, scale):
    torch.manual_seed(0)
    net = cls(scale=scale)
    assert not net.pre_upsampled and scale in net.build_scales and net.run_scales == (scale,)
    assert (net.scale, net.in_channels, net.out_channels) == (scale, 3, 3)
    sr = net.eval()(torch.rand(2, 3, 8, 8))
    assert sr.shape == (2, 3, 8 * scale, 8 * scale) and torch.isfinite(sr).all()


@pytest.mark.parametrize("cls", [SRResNet, SelNet, EnhanceNet, JohnsonSR])
def test_unsupported_scale(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} can be built at x.*, not at scale 5"):
        cls(scale=5)


def test_parameter_counts():
    # SRResNet, counted from the paper's Fig. 4 (no official code): 9x9 conv + PReLU, 16 x (2 conv + 2 BN + PReLU),
    # conv + BN, x2 steps of conv to 256 maps + PReLU, 9x9 conv. The EDSR paper (Table 1) reports "1.5M" at x4.
    head, block, body_end, tail = (15_552 + 64 + 64, 2 * 36_928 + 2 * 128 + 64, 36_928 + 128, 15_552 + 3)
    up2 = 147_456 + 256 + 64
    assert count(SRResNet(scale=4)) == head + 16 * block + body_end + 2 * up2 + tail == 1_550_659
    assert count(SRResNet(scale=2)) == 1_402_883
    # SelNet: CARN (Ahn et al. 2018, Table 2) reports 974K, weights without biases as CARN counts (x2).
    assert count(SelNet(scale=2), biases=False) == 974_208
    assert count(SelNet(scale=2)) == 977_155
    assert count(SelNet(scale=3)) == 1_161_795  # the sub-pixel convolution grows with scale**2
    assert count(SelNet(scale=4)) == 1_420_291
    # EnhanceNet: the 25 3x3 convolutions of the official code (msmsajjadi/EnhanceNet-Code, enhancenet.py),
    # 23 of them 64 -> 64; the paper reports no count.
    assert count(EnhanceNet(scale=4)) == 1_792 + 23 * 36_928 + 1_731 == 852_867
    # Johnson et al. supplementary, x4 / x8 (no reported count): 9x9 conv + BN, 4 residual blocks,
    # 2 or 3 transposed 3x3 convs + BN, 9x9 conv.
    assert count(JohnsonSR(scale=4)) == 15_744 + 4 * 74_112 + 2 * 37_056 + 15_555 == 401_859
    assert count(JohnsonSR(scale=8)) == 438_915


@pytest.mark.parametrize(("cls", "scale"), CASES, ids=IDS)
def test_training_steps(cls, scale):
    torch.manual_seed(0)
    net = cls(scale=scale)
    lr, hr = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8 * scale, 8 * scale)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(net(lr), hr)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_output_mappings():
    lr = torch.rand(1, 3, 8, 8)
    # SRResNet's last convolution predicts in the paper's [-1, 1]: a zero last layer gives mid-grey.
    net = SRResNet(scale=2).eval()
    nn.init.zeros_(net.tail[-1].weight), nn.init.zeros_(net.tail[-1].bias)
    torch.testing.assert_close(net(lr), torch.full((1, 3, 16, 16), 0.5))
    # SelNet and EnhanceNet add their output to the bicubic image: a zero last layer gives bicubic back.
    for net, last in ((SelNet(scale=3), "tail"), (EnhanceNet(scale=4), "tail.4")):
        nn.init.zeros_(net.get_submodule(last).weight), nn.init.zeros_(net.get_submodule(last).bias)
        torch.testing.assert_close(net(lr), imresize(lr, net.scale))
    # Johnson et al.'s scaled tanh keeps the output in [0, 1], even for large activations.
    net = JohnsonSR(scale=4).eval()
    net.tail.bias.data.fill_(100.0)
    sr = net(lr)
    assert sr.min() >= 0 and sr.max() <= 1 and torch.allclose(sr, torch.ones_like(sr))
