"""CARN, CARN-M, BTSRN, CMSC and IDN: output shapes, parameter counts, global residuals, a few training steps."""

import pytest
import torch
from torch import nn

from srlab.models.btsrn import BTSRN
from srlab.models.carn import CARN, CARNM
from srlab.models.cmsc import CMSC
from srlab.models.idn import IDN
from srlab.ops import imresize

FULL = {"carn": CARN, "carn_m": CARNM, "btsrn": BTSRN, "cmsc": CMSC, "idn": IDN}
TINY = {
    "carn": lambda scale: CARN(scale, num_features=8),
    "carn_m": lambda scale: CARNM(scale, num_features=8),
    "btsrn": lambda scale: BTSRN(scale, num_features=8, bottleneck=4),
    "cmsc": lambda scale: CMSC(scale, num_features=8, num_groups=2, num_blocks=1),
    "idn": lambda scale: IDN(scale, num_features=16, distilled=4),
}
CASES = [(name, scale) for name in FULL for scale in (2, 3, 4)]


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def lr_input(net: nn.Module, h: int = 8, w: int = 6) -> torch.Tensor:
    """A random input for `net`: LR, or bicubic-upscaled for pre-upsampled nets."""
    size = (h * net.scale, w * net.scale) if net.pre_upsampled else (h, w)
    return torch.rand(2, net.in_channels, *size)


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_forward_shapes(name, scale):
    net = FULL[name](scale=scale).eval()
    with torch.no_grad():
        out = net(lr_input(net))
    assert out.shape == (2, net.out_channels, 8 * scale, 6 * scale)
    assert (net.in_channels, net.out_channels) == ((1, 1) if name in ("cmsc", "idn") else (3, 3))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_counts(scale):
    # CARN, CARN-M: the paper's counts hold every upsampler (x2, x3, x4), as the author explains in
    # nmhkahn/CARN-pytorch issues #2 and #47. CARN: the official train.py prints 1,591,963 (issue #6),
    # which adds the 24 weights of its two frozen 1x1 mean-shift convolutions (buffers here); paper 1,592K.
    assert count(CARN(scale)) == 1_591_963 - 24
    # CARN-M (groups 4, grouped upsamplers): the official code gives 414,787 + 24; the paper says 412K.
    assert count(CARNM(scale)) == 414_787
    # IDN: the layers of the official Caffe deploy files (Zheng222/IDN-Caffe), the same at every scale:
    # FBlock 640 + 36,928, 4 DBlocks of 124,176, 17x17 deconvolution 18,497; IMDN (Hui et al. 2019) lists 553K.
    assert count(IDN(scale)) == 640 + 36_928 + 4 * 124_176 + 18_497 == 552_769
    # CMSC: no published figure checked (see the module docstring); 4 subnetworks of 3 MSC modules.
    assert count(CMSC(scale)) == 1_515_269
    # BTSRN: the layer sizes of the authors' code (ychfan/sr_ntire2017), no published figure found:
    # 1x1 head 512, 10 blocks of 82,112, deconvolutions, 1x1 tail 387 (x4: two x2 steps and one more block).
    btsrn = {2: 512 + 10 * 82_112 + 65_664 + 387, 3: 512 + 10 * 82_112 + 147_584 + 387}
    btsrn[4] = btsrn[2] + 65_664 + 82_112
    assert count(BTSRN(scale)) == btsrn[scale]


def test_single_scale_carn_counts():
    # The single-scale x4 models of the official code: 1112K and 294K (nmhkahn/CARN-pytorch issue #47).
    assert count(CARN(4, multi_scale=False)) == 1_111_875
    assert count(CARNM(4, multi_scale=False)) == 294_147


def test_multi_scale_carn_reads_scale_at_call_time():
    net = CARNM(2, num_features=8)
    x = torch.rand(1, 3, 5, 7)
    for scale in (2, 3, 4):
        net.scale = scale
        assert net(x).shape == (1, 3, 5 * scale, 7 * scale)
    assert net.run_scales == (2, 3, 4) and CARN(4, num_features=8, multi_scale=False).run_scales == (4,)
    with pytest.raises(ValueError, match="CARN can be built at x2, x3, x4, not at scale 8"):
        CARN(8)
    with pytest.raises(ValueError, match="BTSRN can be built at x2, x3, x4, not at scale 5"):
        BTSRN(5)


def test_global_residuals():
    """With the last layer zeroed, IDN and BTSRN return the bicubic upscaling of their input, CMSC its input."""
    idn, btsrn, cmsc = TINY["idn"](3), TINY["btsrn"](4), TINY["cmsc"](2)
    for last in (idn.upsample, btsrn.tail[-1], cmsc.reconstruction[-1]):
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
    y, rgb = torch.rand(1, 1, 6, 5), torch.rand(1, 3, 6, 5)
    torch.testing.assert_close(idn(y), imresize(y, 3))
    torch.testing.assert_close(btsrn(rgb), imresize(rgb, 4))
    cmsc.eval()
    torch.testing.assert_close(cmsc(y), y)


def test_cmsc_returns_every_prediction_in_training():
    net = TINY["cmsc"](2)
    x = lr_input(net)
    outputs = net.train()(x)
    assert isinstance(outputs, list) and len(outputs) == 2 + 1
    assert all(o.shape == x.shape for o in outputs)
    torch.testing.assert_close(outputs[-1], net.eval()(x))


@pytest.mark.parametrize("name", list(FULL))
def test_training_steps(name):
    """A few Adam steps on one random batch lower the loss; every parameter gets a finite gradient.

    CARN's three upsamplers are trained together by summing the loss over the scales, as one multi-scale
    step per scale would.
    """
    torch.manual_seed(0)
    net = TINY[name](2).train()
    scales = net.run_scales if isinstance(net, CARN) else (2,)
    batches = {s: (torch.rand(4, net.in_channels, 6, 6), torch.rand(4, net.out_channels, 6 * s, 6 * s)) for s in scales}
    if net.pre_upsampled:
        batches = {s: (imresize(lr, s), hr) for s, (lr, hr) in batches.items()}
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> float:
        optimizer.zero_grad()
        loss = torch.zeros(())
        for s, (x, hr) in batches.items():
            net.scale = s
            out = net(x)
            loss = loss + sum(nn.functional.mse_loss(o, hr) for o in (out if isinstance(out, list) else [out]))
        loss.backward()
        optimizer.step()
        return loss.item()

    first = step()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    for _ in range(4):
        last = step()
    assert last < first
