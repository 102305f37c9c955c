"""Loss values derived by hand."""

import math

import pytest
import torch
from torch import nn

from srlab.losses import CharbonnierLoss, MultiOutputLoss, PixelSum
from srlab.ops import imresize


def test_charbonnier_at_zero_and_far_away():
    x = torch.zeros(1, 1, 4, 4)
    assert CharbonnierLoss(eps=1e-3)(x, x).item() == pytest.approx(1e-3)
    assert CharbonnierLoss(eps=1e-3)(x + 3, x).item() == pytest.approx(math.sqrt(9 + 1e-6))


def test_multi_output_loss_weights_resizes_and_anneals():
    hr = torch.rand(2, 1, 16, 16)
    x2, x4 = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 16, 16)
    loss = MultiOutputLoss(nn.L1Loss(), weights=[0.5, 2.0])
    expected = 0.5 * (x2 - imresize(hr, 1 / 2)).abs().mean() + 2.0 * (x4 - hr).abs().mean()
    torch.testing.assert_close(loss([x2, x4], hr), expected)
    torch.testing.assert_close(loss(x4, hr), (x4 - hr).abs().mean())  # a single output: the loss alone
    with pytest.raises(ValueError, match="2 weights but the net returned 3"):
        loss([x2, x4, x4], hr)

    # DRCN-style: from all weight on the intermediate output to all on the final one in 4 steps.
    a, final = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    target = torch.zeros(1, 1, 4, 4)
    drcn = MultiOutputLoss(nn.L1Loss(), weights=[1.0, 0.0], final_weights=[0.0, 1.0], anneal_steps=4)
    values = [drcn([a, final], target).item() for _ in range(6)]
    assert values == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    drcn.eval()
    assert drcn([a, final], target).item() == 1.0 and int(drcn.step) == 6  # evaluation does not advance it
    assert "step" in drcn.state_dict()


def test_pixel_sum_is_caffes_euclidean_loss():
    sr, hr = torch.rand(4, 1, 6, 5), torch.rand(4, 1, 6, 5)
    euclidean = ((sr - hr) ** 2).sum() / (2 * 4)  # Caffe: 1/(2N) sum over the batch
    torch.testing.assert_close(PixelSum(nn.MSELoss(), factor=0.5)(sr, hr), euclidean)
    torch.testing.assert_close(PixelSum(nn.L1Loss())(sr, hr), (sr - hr).abs().sum() / 4)
