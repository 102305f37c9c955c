"""Discriminators (shapes, parameter counts, spectral norm, a D step) and the LPIPS helper."""

import itertools
import urllib.error

import pytest
import torch
import torch.nn.functional as F
import torchmetrics.image.lpip
from torch import nn
from torch.nn.utils import parametrize

from srlab.metrics.lpips import LPIPS, build_lpips
from srlab.models.esrgan_discriminator import VGGDiscriminator
from srlab.models.srgan_discriminator import SRGANDiscriminator
from srlab.models.unet_discriminator import UNetDiscriminatorSN

count = lambda m: sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize(
    ("make", "size", "out"),
    [
        (lambda: SRGANDiscriminator(num_features=8), 96, (2, 1)),
        (lambda: SRGANDiscriminator(num_features=8, input_size=32), 32, (2, 1)),
        (lambda: VGGDiscriminator(num_features=8), 128, (2, 1)),
        (lambda: VGGDiscriminator(num_features=8, input_size=256), 256, (2, 1)),
        (lambda: UNetDiscriminatorSN(num_features=8), 64, (2, 1, 64, 64)),
    ],
)
def test_output_shapes(make, size, out):
    assert make()(torch.rand(2, 3, size, size)).shape == out


def test_unet_takes_any_multiple_of_8():
    assert UNetDiscriminatorSN(num_features=8)(torch.rand(1, 3, 24, 40)).shape == (1, 1, 24, 40)


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="input_size"):
        SRGANDiscriminator(input_size=100)
    with pytest.raises(ValueError, match="input_size"):
        VGGDiscriminator(input_size=96)
    with pytest.raises(ValueError, match="32x32"):
        SRGANDiscriminator(num_features=8, input_size=32)(torch.rand(1, 3, 48, 48))
    with pytest.raises(ValueError, match="128x128"):
        VGGDiscriminator(num_features=8)(torch.rand(1, 3, 96, 96))
    with pytest.raises(ValueError, match="multiples of 8"):
        UNetDiscriminatorSN(num_features=8)(torch.rand(1, 3, 60, 64))


def test_parameter_counts():
    # SRGAN (Ledig et al. 2017, Figure 4; no official code): 3x3 convs to 64, 64, 128, 128, 256, 256, 512, 512
    # maps, the first with a bias, the rest with batch norm; dense 512*6*6 -> 1024 -> 1 for 96x96 patches.
    convs = 9 * (3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256 + 256 * 512 + 512 * 512) + 64
    bn = 2 * (64 + 128 + 128 + 256 + 256 + 512 + 512)
    assert count(SRGANDiscriminator()) == convs + bn + (512 * 36 * 1024 + 1024) + (1024 + 1) == 23_563_649
    # ESRGAN VGG-128: the official code, BasicSR's VGGStyleDiscriminator(num_in_ch=3, num_feat=64, input_size=128)
    # (basicsr/archs/discriminator_arch.py): conv0_0 3x3 with bias; 3x3 and 4x4 convs with BN to 64, 128, 256, 512,
    # 512 maps; linear 512*4*4 -> 100 -> 1. input_size=256 adds conv5_0 / conv5_1 (3x3 and 4x4, 512 maps) with BN.
    assert count(VGGDiscriminator()) == 14_499_401
    assert count(VGGDiscriminator(input_size=256)) == 14_499_401 + 9 * 512 * 512 + 16 * 512 * 512 + 4 * 512
    # Real-ESRGAN: the official code, UNetDiscriminatorSN(num_in_ch=3, num_feat=64) (xinntao/Real-ESRGAN,
    # realesrgan/archs/discriminator_arch.py): conv0 3x3 with bias, three 4x4 downs, three 3x3 ups, two 3x3 extras
    # (no bias), conv9 3x3 to 1 with bias.
    downs = 16 * (64 * 128 + 128 * 256 + 256 * 512)
    ups = 9 * (512 * 256 + 256 * 128 + 128 * 64 + 2 * 64 * 64)
    assert count(UNetDiscriminatorSN()) == (27 * 64 + 64) + downs + ups + (9 * 64 + 1) == 4_376_897


def test_unet_spectral_norm_and_skips():
    torch.manual_seed(0)
    d = UNetDiscriminatorSN(num_features=8)
    normed = [m for m in d.modules() if isinstance(m, nn.Conv2d) and parametrize.is_parametrized(m, "weight")]
    assert len(normed) == 8 and not parametrize.is_parametrized(d.conv0) and not parametrize.is_parametrized(d.out)
    x = torch.rand(2, 3, 32, 32)
    for _ in range(30):  # one power iteration per training forward
        d(x)
    for conv in normed:
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
        assert 0.999 < sigma < 1.05
    d.eval()
    no_skips = UNetDiscriminatorSN(num_features=8, skip_connection=False).eval()
    no_skips.load_state_dict(d.state_dict())
    assert not torch.allclose(d(x), no_skips(x))


@pytest.mark.parametrize(
    ("make", "size"),
    [
        (lambda: SRGANDiscriminator(num_features=8, input_size=32), 32),
        (lambda: VGGDiscriminator(num_features=8, input_size=32), 32),
        (lambda: UNetDiscriminatorSN(num_features=8), 32),
    ],
)
def test_d_steps_reduce_bce(make, size):
    torch.manual_seed(0)
    d = make()
    real = torch.rand(4, 3, 1, 1).expand(4, 3, size, size)  # flat colours
    fake = torch.rand(4, 3, size, size)  # noise

    def bce() -> torch.Tensor:
        r, f = d(real), d(fake)
        return F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + F.binary_cross_entropy_with_logits(
            f, torch.zeros_like(f)
        )

    opt = torch.optim.Adam(d.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = bce()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    losses.append(bce().item())
    assert all(after < before for before, after in itertools.pairwise(losses)), losses


def test_discriminators_run_under_bf16_autocast():
    for d, size in [
        (SRGANDiscriminator(num_features=8, input_size=32), 32),
        (VGGDiscriminator(num_features=8, input_size=32), 32),
        (UNetDiscriminatorSN(num_features=8), 32),
    ]:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = d(torch.rand(2, 3, size, size))
        logits.float().mean().backward()
        assert torch.isfinite(logits).all()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())


class FakeLpipsNet(nn.Module):
    """Stands in for torchmetrics' network (torchvision is absent here): mean 1x1-conv response to the difference."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)
        self.register_buffer("shift", torch.zeros(1, 3, 1, 1))
        self.dtypes: list[torch.dtype] = []

    def train(self, mode: bool = True) -> "FakeLpipsNet":
        return super().train(False)

    def forward(self, in0: torch.Tensor, in1: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        out = self.conv((in0 - in1 - self.shift).abs())
        self.dtypes.append(out.dtype)
        return out.mean((1, 2, 3), keepdim=True)


def test_lpips_skipped_with_a_notice_without_torchvision(monkeypatch, caplog):
    monkeypatch.setattr(torchmetrics.image.lpip, "_TORCHVISION_AVAILABLE", False)
    assert build_lpips() is None
    assert "LPIPS is skipped" in caplog.text and "torchvision" in caplog.text  # a logged warning


def test_lpips_skipped_with_a_notice_when_weights_are_missing(monkeypatch, caplog):
    def offline(net: str) -> nn.Module:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchmetrics.image.lpip, "_TORCHVISION_AVAILABLE", True)
    monkeypatch.setattr(torchmetrics.image.lpip, "_NoTrainLpips", offline)
    assert build_lpips("vgg") is None
    out = caplog.text
    assert "vgg16-397923af.pth" in out and str(torch.hub.get_dir()) in out and "no network" in out


def test_lpips_built_when_available(monkeypatch):
    monkeypatch.setattr(torchmetrics.image.lpip, "_TORCHVISION_AVAILABLE", True)
    monkeypatch.setattr(torchmetrics.image.lpip, "_NoTrainLpips", lambda net: FakeLpipsNet())
    metric = build_lpips()
    assert isinstance(metric, LPIPS)
    # The network stays out of checkpoints and optimisers.
    holder = nn.Module()
    holder.lpips = metric
    assert list(holder.parameters()) == [] and holder.state_dict() == {}
    nn.Module().load_state_dict(holder.state_dict())
    # Inputs in [0, 1], scored in float32 even under autocast.
    a, b = torch.zeros(2, 3, 8, 8), torch.full((2, 3, 8, 8), 0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        metric.update(a, b)
    assert metric.net.dtypes == [torch.float32]
    torch.testing.assert_close(metric.compute(), torch.tensor(1.5))
    with pytest.raises(ValueError, match="net_type"):
        build_lpips("resnet")
