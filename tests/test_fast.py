"""The exact inference rewrites (`srlab.inference.fast`): the fast net computes what the net computes."""

import pytest
import torch
from torch import nn

from srlab.inference import RGBUpscaler
from srlab.inference.fast import fast_net
from srlab.models import ESPCN, FSRCNN, SRResNet


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


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fsrcnn_deconvolution_becomes_subpixel_and_agrees(scale: int, channels_last: bool) -> None:
    net = _randomised(FSRCNN(scale))
    fast = fast_net(net, channels_last=channels_last)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in fast.modules())
    assert isinstance(net.deconvolution, nn.ConvTranspose2d)  # the original is left as it was
    x = torch.rand(2, 1, 23, 17)
    with torch.no_grad():
        expected, got = net(x), fast(x)
    assert got.shape == expected.shape and got.is_contiguous()
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_conv_batch_norm_fused_and_agrees() -> None:
    net = _randomised(SRResNet(4, num_blocks=2))
    fast = fast_net(net, channels_last=True)
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
