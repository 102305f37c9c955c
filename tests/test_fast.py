"""The exact inference rewrites (`srlab.inference.fast`): the fast net computes what the net computes."""

import pytest
import torch
from torch import nn

from srlab.inference import RGBUpscaler
from srlab.inference.fast import ConvAct, fast_net
from srlab.models import EDSR, ESPCN, FSRCNN, VDSR, SRResNet


def _randomised(net: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, 0.1)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):  # running statistics far from the identity
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2)
    return net.eval()


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fsrcnn_deconvolution_becomes_subpixel_and_agrees(scale: int, eager: bool) -> None:
    net = _randomised(FSRCNN(scale))
    fast = fast_net(net, eager=eager)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in fast.modules())
    assert isinstance(net.deconvolution, nn.ConvTranspose2d)  # the original is left as it was
    x = torch.rand(2, 1, 23, 17)
    with torch.no_grad():
        expected, got = net(x), fast(x)
    assert got.shape == expected.shape and got.is_contiguous()
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_conv_batch_norm_fused_and_agrees() -> None:
    net = _randomised(SRResNet(4, num_blocks=2))
    fast = fast_net(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), atol=1e-4, rtol=1e-4)


def test_contract_and_upscaler_unchanged() -> None:
    net = _randomised(ESPCN(3))
    fast = fast_net(net)
    assert (type(fast), fast.scale, fast.run_scales, fast.in_channels, fast.pre_upsampled) == (
        ESPCN, 3, (3,), 1, False)  # fmt: skip
    lr = torch.rand(1, 3, 20, 30)
    with torch.no_grad():
        torch.testing.assert_close(RGBUpscaler(fast)(lr), RGBUpscaler(net)(lr), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("net", [ESPCN(3), VDSR(2), EDSR(2, num_features=16, num_blocks=2)], ids=type)
def test_convolution_and_activation_fused_and_agree(net: nn.Module) -> None:
    torch.manual_seed(0)
    net = net.eval()  # the nets' own initialisation: a random 0.1 would blow 20 VDSR layers up to rounding noise
    fast = fast_net(net)
    pairs = sum(isinstance(m, ConvAct) for m in fast.modules())
    assert pairs > 0 and not any(isinstance(m, ConvAct) for m in net.modules())
    assert not any(isinstance(m, ConvAct) for m in fast_net(net, eager=False).modules())  # exporters see plain modules
    x = torch.rand(2, net.in_channels, 14, 11)
    with torch.no_grad():
        expected = net(x)
        torch.testing.assert_close(fast(x), expected, atol=1e-5, rtol=1e-4)
        # Where oneDNN's fused kernel does not apply (float64 here; CUDA, autocast) the modules run as they are.
        torch.testing.assert_close(fast.double()(x.double()), net.double()(x.double()), atol=1e-12, rtol=1e-10)


def test_conv_act_fused_kernel_applies_the_activation() -> None:
    conv = nn.Conv2d(3, 5, 3, padding=1)
    x = torch.randn(1, 3, 9, 8)
    with torch.no_grad():
        for act in (nn.ReLU(), nn.Tanh(), nn.Sigmoid()):
            fused = ConvAct(conv, act)
            assert fused.attr == {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}[type(act)]
            torch.testing.assert_close(fused(x), act(conv(x)), atol=1e-6, rtol=1e-5)
    assert not ConvAct.fusable(nn.Conv2d(3, 5, 3, padding="same"), nn.ReLU())
    assert not ConvAct.fusable(nn.Conv2d(3, 5, 3, padding=1, padding_mode="reflect"), nn.ReLU())
    assert not ConvAct.fusable(conv, nn.PReLU())
