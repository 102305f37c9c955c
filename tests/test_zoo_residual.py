"""EDSR, MDSR, RCAN and RRDBNet: output shapes, published parameter counts, a few training steps."""

import pytest
import torch
from torch import nn

from srlab.models.blocks import MeanShift
from srlab.models.edsr import EDSR, MDSR
from srlab.models.rcan import RCAN
from srlab.models.rrdbnet import DenseBlock, RRDBNet

# Narrow, shallow versions for running on CPU; the full sizes are only built, for counting.
TINY = {
    EDSR: {"num_features": 16, "num_blocks": 2},
    MDSR: {"num_features": 16, "num_blocks": 2},
    RCAN: {"num_features": 16, "num_groups": 2, "num_blocks": 2, "reduction": 4},
    RRDBNet: {"num_features": 16, "num_blocks": 1, "growth_channels": 8},
}
CASES = [(cls, scale) for cls in TINY for scale in cls.build_scales]


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(("cls", "scale"), CASES, ids=[f"{c.__name__}-x{s}" for c, s in CASES])
def test_forward_shape_and_contract(cls, scale):
    net = cls(scale, **TINY[cls])
    assert not net.pre_upsampled and net.scale == scale and net.in_channels == net.out_channels == 3
    out = net(torch.rand(2, 3, 8, 7))
    assert out.shape == (2, 3, 8 * scale, 7 * scale)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        # EDSR-PyTorch README (thstkdgus35): baseline x2/x3/x4 1.37M / 1.55M / 1.52M, EDSR 40.7M / 43.7M / 43.1M;
        # exact figures counted from the official model code (MeanShift convs excluded, they are frozen).
        (lambda: EDSR(2, num_features=64, num_blocks=16, res_scale=1.0), 1_369_859),
        (lambda: EDSR(3, num_features=64, num_blocks=16, res_scale=1.0), 1_554_499),
        (lambda: EDSR(4, num_features=64, num_blocks=16, res_scale=1.0), 1_517_571),
        (lambda: EDSR(2), 40_729_603),
        (lambda: EDSR(3), 43_680_003),
        (lambda: EDSR(4), 43_089_923),
        # EDSR-PyTorch README: MDSR 7.95M (all three branches; paper Table 1: 8.0M)
        (lambda: MDSR(2), 7_953_987),
        # RCAN author (yulunzhang/RCAN issue #56): x2 15.44M, x3 15.63M, x4 15.59M; x8 from the official code
        (lambda: RCAN(2), 15_444_643),
        (lambda: RCAN(3), 15_629_283),
        (lambda: RCAN(4), 15_592_355),
        (lambda: RCAN(8), 15_740_067),
        # ESRGAN / BasicSR RRDBNet x4 (RRDB_PSNR_x4.pth, RealESRGAN_x4plus): 16,697,987;
        # x2 (BasicSR pixel-unshuffle, RealESRGAN_x2plus): first conv takes 12 channels, +5,184
        (lambda: RRDBNet(4), 16_697_987),
        (lambda: RRDBNet(2), 16_703_171),
    ],
    ids=["edsr_b-x2", "edsr_b-x3", "edsr_b-x4", "edsr-x2", "edsr-x3", "edsr-x4", "mdsr"]
    + [f"rcan-x{s}" for s in (2, 3, 4, 8)]
    + ["rrdb-x4", "rrdb-x2"],
)
def test_parameter_count(make, expected):
    with torch.device("meta"):  # no memory, no init cost
        assert count(make()) == expected


@pytest.mark.parametrize("cls", list(TINY))
def test_training_steps_reduce_loss(cls):
    torch.manual_seed(0)
    net = cls(4, **TINY[cls])
    lr, hr = torch.rand(4, 3, 8, 8), torch.rand(4, 3, 32, 32)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = nn.functional.l1_loss(net(lr), hr)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for name, p in net.named_parameters():
        if cls is MDSR and name.startswith(("pre_process.2.", "pre_process.3.", "upsample.2.", "upsample.3.")):
            assert p.grad is None, name  # x2 and x3 branches sit out an x4 batch
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_mdsr_follows_scale_at_call_time():
    net = MDSR(2, **TINY[MDSR])
    x = torch.rand(1, 3, 6, 5)
    for s in (3, 4, 2):
        net.scale = s
        assert net(x).shape == (1, 3, 6 * s, 5 * s)


@pytest.mark.parametrize("cls", [EDSR, MDSR, RCAN])
def test_mean_shift_in_unit_range(cls):
    """Inputs and outputs are in [0, 1]: with a zero tail the output is the DIV2K mean, not 255 times it."""
    net = cls(2, **TINY[cls])
    nn.init.zeros_(net.tail.weight)
    nn.init.zeros_(net.tail.bias)
    out = net(torch.rand(1, 3, 4, 4))
    torch.testing.assert_close(out, torch.tensor(MeanShift.DIV2K_MEAN).view(1, 3, 1, 1).expand_as(out))


def test_y_channel_variants_skip_mean_shift():
    for cls in (EDSR, RCAN):
        net = cls(2, in_channels=1, out_channels=1, **TINY[cls])
        assert net(torch.rand(1, 1, 5, 6)).shape == (1, 1, 10, 12)


def test_rrdb_init_is_scaled_kaiming():
    block = DenseBlock(64, 32, 0.2)
    first = block.convs[0]
    expected = 0.1 * (2 / (64 * 9)) ** 0.5  # He normal std for fan_in = 64 * 3 * 3, times 0.1
    assert abs(first.weight.std().item() / expected - 1) < 0.05
    assert (first.bias == 0).all()


@pytest.mark.parametrize(("cls", "scale"), [(EDSR, 8), (MDSR, 8), (RCAN, 5), (RRDBNet, 3)])
def test_unsupported_scale_raises(cls, scale):
    with pytest.raises(ValueError, match=rf"{cls.__name__} can be built at x2, .*, not at scale {scale}"):
        cls(scale, **TINY[cls])
