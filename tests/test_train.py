"""Short training runs of every model through `srlab.cli.train.train`, and the run directory."""

import json

import pytest
import torch

from conftest import compose_train, tiny_overrides
from srlab.cli.train import train


@pytest.mark.parametrize("model", ["bicubic", "srcnn", "fsrcnn", "espcn"])
def test_short_training_run(model, tiny_data, tmp_path):
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), f"model={model}", "data.scale=2"], tmp_path / "run")
    metrics = train(cfg)
    for key in ("val/psnr", "val/ssim", "val/psnr_bicubic", "val/ssim_bicubic"):
        assert key in metrics and torch.isfinite(torch.tensor(metrics[key])), key
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["val/psnr"] == pytest.approx(metrics["val/psnr"])
    assert (tmp_path / "run" / "config_tree.log").exists()
    if model == "bicubic":  # nothing to train: the model is the baseline
        assert saved["ckpt_path"] is None
        assert metrics["val/psnr"] == pytest.approx(metrics["val/psnr_bicubic"])
    else:
        ckpts = tmp_path / "run" / "checkpoints"
        assert (ckpts / "best.ckpt").exists() and (ckpts / "last.ckpt").exists()
        assert saved["ckpt_path"] == str(ckpts / "best.ckpt")
        torch.load(ckpts / "best.ckpt", weights_only=True)
