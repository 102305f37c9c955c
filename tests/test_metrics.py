"""PSNR/SSIM with the SR protocol: hand-derived values and an independent SSIM."""

import math

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from srlab.metrics import SRQuality, eval_plane, psnr, ssim

NO_GREY = torch.tensor([False])


def test_eval_plane_rounds_y_and_keeps_grey_channel():
    # R=200, G=100, B=50 grey levels: Y = 16 + (65.481*200 + 128.553*100 + 24.966*50)/255 = 122.67 -> 123
    px = torch.tensor([200.0, 100.0, 50.0]).view(1, 3, 1, 1) / 255
    assert eval_plane(px, NO_GREY).item() == 123
    assert eval_plane(px, torch.tensor([True])).item() == 200  # grey images: their own channel
    # Output is clamped and quantised like a saved 8-bit image.
    assert eval_plane(torch.tensor([1.7, -0.2, 0.1 / 255]).view(1, 3, 1, 1), torch.tensor([True])).item() == 255
    assert eval_plane(torch.tensor([0.6 / 255]).view(1, 1, 1, 1), NO_GREY).item() == 1


def test_psnr_hand_values():
    a = torch.full((1, 1, 8, 8), 100.0, dtype=torch.float64)
    assert psnr(a, a + 1).item() == pytest.approx(20 * math.log10(255))  # MSE 1
    b = a.clone()
    b[..., :4, :4] += 4  # a quarter of the pixels off by 4: MSE 4
    assert psnr(a, b).item() == pytest.approx(10 * math.log10(255**2 / 4))


def reference_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al. 2004: Gaussian 11x11, sigma 1.5, K = (0.01, 0.03), L = 255, valid windows."""
    t = np.arange(11) - 5
    g = np.exp(-(t**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def filt(x: np.ndarray) -> np.ndarray:
        return np.einsum("ijkl,kl->ij", sliding_window_view(x, (11, 11)), window)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = filt(a), filt(b)
    var_a, var_b = filt(a * a) - mu_a**2, filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(s.mean())


def test_ssim_matches_reference_and_hand_value():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 33)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255).round()
    got = ssim(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]).item()
    assert got == pytest.approx(reference_ssim(a, b), abs=1e-6)
    # Flat images 100 and 110: no variance, SSIM = (2*100*110 + C1) / (100^2 + 110^2 + C1).
    c1 = (0.01 * 255) ** 2
    flat = ssim(torch.full((1, 1, 16, 16), 100.0), torch.full((1, 1, 16, 16), 110.0)).item()
    assert flat == pytest.approx((2 * 100 * 110 + c1) / (100**2 + 110**2 + c1), rel=1e-5)


def test_ssim_keeps_float64_figures_on_a_bright_almost_flat_image():
    # Values 252..255 with +-1 noise: E[x^2] - E[x]^2 cancels almost all of E[x^2] here. Sums in plain
    # float32 (or centred on 128 alone) miss the float64 figure by more than 1e-6; centred on the image mean
    # they stay within 1e-8.
    rng = np.random.default_rng(1)
    a = rng.integers(252, 256, (120, 90)).astype(np.float64)
    b = np.clip(a + rng.integers(-1, 2, a.shape), 0, 255)
    got = ssim(torch.from_numpy(a)[None, None], torch.from_numpy(b)[None, None]).item()
    assert got == pytest.approx(reference_ssim(a, b), abs=1e-8)
    # A batch centres each image on its own mean.
    pair = torch.from_numpy(np.stack([a, 255 - a]))[:, None], torch.from_numpy(np.stack([b, 255 - b]))[:, None]
    assert ssim(*pair).tolist() == pytest.approx([reference_ssim(a, b), reference_ssim(255 - a, 255 - b)], abs=1e-8)


def test_quality_crops_border_and_averages_per_image():
    hr = torch.full((2, 1, 20, 20), 100 / 255, dtype=torch.float64)
    sr = hr.clone()
    sr[0, :, :3, :] += 50 / 255  # errors only within the 3-pixel border of image 0
    sr[1] += 1 / 255  # image 1 off by one grey level everywhere: 48.13 dB
    metric = SRQuality(border=3)
    metric.update(sr, hr, torch.tensor([False, False]))
    result = metric.compute()
    capped = 10 * math.log10(255**2 / 1e-10)  # identical images after the crop
    assert result["psnr"].item() == pytest.approx((capped + 20 * math.log10(255)) / 2, rel=1e-6)
    no_crop = SRQuality(border=0)
    no_crop.update(sr, hr, torch.tensor([False, False]))
    assert no_crop.compute()["psnr"] < 60
    metric.reset()
    assert metric.count == 0
