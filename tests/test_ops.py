"""Colour conversion and MATLAB bicubic resize, against hand values and an independent reference."""

import math

import numpy as np
import pytest
import torch

from srlab.ops import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb


def test_rgb_to_y_hand_values():
    # MATLAB rgb2ycbcr: Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1].
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    y = rgb_to_y(rgb.T.reshape(1, 3, 5, 1)).flatten() * 255
    expected = torch.tensor([235.0, 16.0, 16 + 65.481, 16 + 128.553, 16 + 24.966])
    torch.testing.assert_close(y, expected, atol=1e-4, rtol=0)


def test_ycbcr_round_trip_and_neutral_grey():
    x = torch.rand(2, 3, 5, 7, dtype=torch.float64)
    torch.testing.assert_close(ycbcr_to_rgb(rgb_to_ycbcr(x)), x)
    grey = torch.full((1, 3, 1, 1), 0.5, dtype=torch.float64)
    ycc = rgb_to_ycbcr(grey).flatten() * 255
    torch.testing.assert_close(ycc[1:], torch.tensor([128.0, 128.0], dtype=torch.float64))


def matlab_imresize_1d(signal: np.ndarray, scale: float) -> np.ndarray:
    """Reference written from MATLAB's documented algorithm, one output sample at a time."""

    def cubic(t: float) -> float:
        t = abs(t)
        if t <= 1:
            return 1.5 * t**3 - 2.5 * t**2 + 1
        if t <= 2:
            return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
        return 0.0

    n = len(signal)
    out = []
    support = 2 / scale if scale < 1 else 2.0  # half the kernel width
    for i in range(1, math.ceil(n * scale) + 1):
        centre = i / scale + 0.5 * (1 - 1 / scale)
        total, weight_sum = 0.0, 0.0
        for j in range(math.floor(centre - support), math.ceil(centre + support) + 1):
            w = scale * cubic(scale * (centre - j)) if scale < 1 else cubic(centre - j)
            k = min(max(j - 1, 0), n - 1)  # 0-based; beyond the ends, the edge sample
            total += w * signal[k]
            weight_sum += w
        out.append(total / weight_sum)
    return np.array(out)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 2, 3, 4])
def test_imresize_matches_reference(scale):
    rng = np.random.default_rng(0)
    img = rng.random((13, 17))
    rows_first = np.stack([matlab_imresize_1d(col, scale) for col in img.T], axis=1)
    expected = np.stack([matlab_imresize_1d(row, scale) for row in rows_first], axis=0)
    got = imresize(torch.from_numpy(img)[None, None], scale)[0, 0].numpy()
    assert got.shape == (math.ceil(13 * scale), math.ceil(17 * scale))
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4])
def test_imresize_uint8_rounds_each_pass_half_up(scale):
    """MATLAB on uint8 rounds after the row pass and after the column pass, ties away from zero.

    At 1/2 the kernel weights are dyadic, so exact ties (x.5) occur; 1e-9 turns the reference's
    float noise at a tie into the tie itself.
    """
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (96, 90)).astype(np.float64)
    rnd = lambda v: np.clip(np.floor(np.asarray(v) + 0.5 + 1e-9), 0, 255)
    rows_first = rnd(np.stack([matlab_imresize_1d(col, scale) for col in img.T], axis=1))
    expected = rnd(np.stack([matlab_imresize_1d(row, scale) for row in rows_first], axis=0))
    got = imresize(torch.from_numpy(img / 255).float()[None, None], scale, uint8=True)[0, 0].double() * 255
    np.testing.assert_array_equal(got.round().numpy(), expected)
    first_pass = np.stack([matlab_imresize_1d(col, scale) for col in img.T], axis=1)
    if scale == 1 / 2:  # the case this test is about occurs: ties whose half-to-even rounding goes down
        assert (np.isclose(first_pass % 2, 0.5, atol=1e-9)).any()


def test_imresize_keeps_constants_and_rounds_uint8_passes():
    flat = torch.full((1, 3, 12, 12), 0.25)
    torch.testing.assert_close(imresize(flat, 1 / 3), torch.full((1, 3, 4, 4), 0.25))
    x = torch.randint(0, 256, (1, 1, 12, 12)).float() / 255
    levels = imresize(x, 1 / 2, uint8=True) * 255
    torch.testing.assert_close(levels, levels.round(), atol=1e-4, rtol=0)
    assert imresize(x.double(), 2).dtype == torch.float64
    with pytest.raises(ValueError, match="scale"):
        imresize(x, 0)
