"""VDSR, DRCN, DRRN, LapSRN and MS-LapSRN: shapes, parameter counts against the papers, training steps, configs.

The papers count convolution weights only (no biases, no batch-norm scales): every figure below that comes
from a paper is matched by `filter_weights`, and the full `parameters` count is given alongside.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import nn

from conftest import compose_train
from srlab.models.drcn import DRCN
from srlab.models.drrn import DRRN
from srlab.models.lapsrn import LapSRN, MSLapSRN, _bilinear_upsampler
from srlab.models.vdsr import VDSR

TINY = {  # small widths and depths for forward and training tests
    "vdsr": lambda s: VDSR(s, num_features=8, num_layers=4),
    "drcn": lambda s: DRCN(s, num_features=8, num_recursions=3),
    "drrn": lambda s: DRRN(s, num_features=8, num_blocks=2, num_units=2),
    "lapsrn": lambda s: LapSRN(s, num_features=8, depth=2),
    "ms_lapsrn": lambda s: MSLapSRN(s, num_features=8, depth=2, num_recursions=2),
}
CASES = [(name, s) for name in ("vdsr", "drcn", "drrn") for s in (2, 3, 4)]
CASES += [(name, s) for name in ("lapsrn", "ms_lapsrn") for s in (2, 4, 8)]


def parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def filter_weights(net: nn.Module) -> int:
    return sum(m.weight.numel() for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def outputs(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    out = net(x)
    return out if isinstance(out, list) else [out]


@pytest.mark.parametrize(("name", "scale"), CASES)
def test_forward_shapes(name, scale):
    net = TINY[name](scale)
    assert net.scale == scale and net.in_channels == net.out_channels == 1
    assert net.run_scales == (() if net.pre_upsampled else (2, 4, 8) if name == "ms_lapsrn" else (scale,))
    size = 8 * scale if net.pre_upsampled else 8
    x = torch.rand(2, 1, size, size)
    assert net.eval()(x).shape == (2, 1, 8 * scale, 8 * scale)
    train_out = outputs(net.train(), x)
    if name == "drcn":  # the prediction of each recursion, then their weighted sum
        assert [o.shape for o in train_out] == [(2, 1, 8 * scale, 8 * scale)] * (net.num_recursions + 1)
    elif name in ("lapsrn", "ms_lapsrn"):  # one image per pyramid level, coarsest first
        assert [o.shape[-1] for o in train_out] == [8 * 2**level for level in range(1, int(math.log2(scale)) + 1)]
    else:
        assert [o.shape for o in train_out] == [(2, 1, 8 * scale, 8 * scale)]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_vdsr_and_drcn_counts(scale):
    # VDSR: 3x3 convs 1->64, 18 x 64->64, 64->1. Its 664,704 weights are the "665K" of the DRRN paper.
    vdsr = VDSR(scale)
    assert filter_weights(vdsr) == 9 * 64 + 18 * 9 * 64 * 64 + 9 * 64 == 664_704
    assert parameters(vdsr) == 664_704 + 18 * 64 + 64 + 1 == 665_921
    # DRCN: embedding 1->256, 256->256; recursive 256->256; reconstruction 256->256, 256->1.
    # 1,774,080 weights: the "1,774K" of the DRRN paper; plus biases and the 16 ensemble weights.
    drcn = DRCN(scale)
    assert filter_weights(drcn) == 9 * 256 + 3 * 9 * 256 * 256 + 9 * 256 == 1_774_080
    assert parameters(drcn) == 1_774_080 + 4 * 256 + 1 + 16 == 1_775_121


def test_drrn_counts():
    # B1U9 and B1U25 share their weights: 3x3 convs 1->128, two 128->128, 128->1 = 297,216 ("297K" for both,
    # DRRN paper). The official Caffe models add conv biases (385) and a scale and shift per batch norm:
    # 1 channel before the first conv, 2U x 128 in the units, 128 before the last conv.
    weights, biases = 9 * 128 + 2 * 9 * 128 * 128 + 9 * 128, 3 * 128 + 1
    for units, params in [(9, 302_467), (25, 310_659)]:
        net = DRRN(scale=3, num_units=units)
        assert filter_weights(net) == weights == 297_216
        assert parameters(net) == weights + biases + 2 * (1 + 2 * units * 128 + 128) == params
    assert parameters(DRRN(scale=3, batch_norm=False)) == weights + biases == 297_601
    assert filter_weights(DRRN(scale=3, num_blocks=2, num_units=9)) == 297_216 + 3 * 9 * 128 * 128


def test_lapsrn_counts():
    # Official code: input conv 1->64; per level 10 convs 64->64, a 3x3 transposed conv 64->64, a residual
    # conv 64->1 and a 4x4 image transposed conv 1->1 (no bias). x4: 812,768 weights, the paper's "812K".
    level_weights = 10 * 9 * 64 * 64 + 9 * 64 * 64 + 9 * 64 + 16
    level_biases = 11 * 64 + 1
    for scale, weights, params in [(2, 406_672, 407_441), (4, 812_768, 814_242), (8, 1_218_864, 1_221_043)]:
        net = LapSRN(scale)
        levels = int(math.log2(scale))
        assert filter_weights(net) == 9 * 64 + levels * level_weights == weights
        assert parameters(net) == weights + 64 + levels * level_biases == params


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_ms_lapsrn_counts(scale):
    # D5R8, one set of weights for every level and scale: input conv 1->64, 5 convs 64->64, a 3x3 transposed
    # conv 64->64, a residual conv 64->1, a 4x4 image transposed conv. 222,352 weights: the TPAMI paper's "222K".
    net = MSLapSRN(scale)
    assert filter_weights(net) == 9 * 64 + 5 * 9 * 64 * 64 + 9 * 64 * 64 + 9 * 64 + 16 == 222_352
    assert parameters(net) == 222_352 + 7 * 64 + 1 == 222_801


def test_ms_lapsrn_reads_scale_at_call_time():
    net = TINY["ms_lapsrn"](8).train()
    x = torch.rand(1, 1, 6, 6)
    for scale, levels in [(2, 1), (4, 2), (8, 3)]:
        net.scale = scale
        assert [o.shape[-1] for o in net(x)] == [6 * 2**level for level in range(1, levels + 1)]
    net.scale = 3
    with pytest.raises(ValueError, match=r"MSLapSRN built at x8 cannot produce x3; it can switch to x2, x4, x8 only"):
        net(x)
    with pytest.raises(ValueError, match=r"LapSRN can be built at x2, x4, x8, not at scale 3"):
        LapSRN(scale=3)


def test_image_branch_starts_bilinear():
    x = torch.rand(1, 1, 10, 12)
    bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(_bilinear_upsampler(1)(x)[..., 1:-1, 1:-1], bilinear[..., 1:-1, 1:-1])


def test_drcn_recursion_starts_as_identity():
    net = DRCN(scale=2, num_features=4, num_recursions=2)
    h = torch.rand(1, 4, 5, 5)
    torch.testing.assert_close(net.recursive(h), h)
    torch.testing.assert_close(net.ensemble, torch.full((2,), 0.5))


@pytest.mark.parametrize("name", list(TINY))
def test_training_steps(name):
    torch.manual_seed(0)
    scale = 4
    net = TINY[name](scale).train()
    hr = torch.rand(2, 1, 4 * scale, 4 * scale)
    x = F.interpolate(hr, scale_factor=1 / scale, mode="area")
    if net.pre_upsampled:
        x = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step() -> float:
        # Every output against the HR target at its size, as MultiOutputLoss does.
        preds = outputs(net, x)
        loss = sum(F.mse_loss(p, F.interpolate(hr, size=p.shape[-2:], mode="area")) for p in preds)
        optimizer.zero_grad()
        loss.backward()
        for n, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
        optimizer.step()
        return loss.item()

    losses = [step() for _ in range(6)]
    assert losses[-1] < losses[0]


EXPERIMENTS = {  # narrow versions of the experiment's net, to run it through the experiment's loss
    "vdsr_291": ["model.net.num_features=8"],
    "drcn_t91": ["model.net.num_features=8"],
    "drrn_291": ["model.net.num_features=8"],
    "lapsrn_291_x4": ["model.net.num_features=8", "model.net.depth=2"],
    "ms_lapsrn_291": ["model.net.num_features=8", "model.net.depth=2", "model.net.num_recursions=2"],
}


@pytest.mark.parametrize("experiment", list(EXPERIMENTS))
def test_experiment_recipe_fits_the_net(experiment, tmp_path):
    # data=folder: the experiment's training set need not be written for its recipe to be checked.
    cfg = compose_train([f"experiment={experiment}", "data=folder", *EXPERIMENTS[experiment]], tmp_path)
    assert "paper" in cfg.tags and all(0 < m < cfg.trainer.max_steps for m in cfg.scheduler.milestones)
    net, loss = instantiate(cfg.model.net).train(), instantiate(cfg.loss)
    assert net.scale == cfg.data.scale
    for scale in cfg.data.get("train_scales") or [cfg.data.scale]:
        net.scale = scale
        hr = torch.rand(2, 1, 8 * scale, 8 * scale)
        x = F.interpolate(hr, scale_factor=1 / scale, mode="area")
        value = loss(net(F.interpolate(x, scale_factor=scale) if net.pre_upsampled else x), hr)
        assert value.ndim == 0 and torch.isfinite(value)
