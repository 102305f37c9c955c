"""scripts/smoke_recipes.py: which recipes it shrinks, and how (the runs themselves are too long for a test)."""

import argparse
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import smoke_recipes  # noqa: E402

from srlab.models import DRCN, FSRCNN  # noqa: E402
from srlab.models.contract import cost  # noqa: E402


def args(**changes) -> argparse.Namespace:
    defaults = dict(steps=100, train="data/BSD200", val="data/Set5", batch=4, heavy_params=2e6, heavy_batch=1,
                    heavy_patch=12, heavy_flops=5e6)  # fmt: skip
    return argparse.Namespace(**defaults | changes)


def test_recursive_nets_count_as_heavy_by_their_flops():
    """DRCN has fewer parameters than the threshold, but its 16 recursions cost ~40 MFLOP per output pixel."""
    assert cost(DRCN(3).eval())[1] * 1e3 > 30e6  # FLOPs per output pixel, as the script counts them
    assert cost(FSRCNN(3).eval())[1] * 1e3 < 1e6
    overrides, note = smoke_recipes.overrides_for("drcn_t91", args())
    assert "data.batch_size=1" in overrides and "data.patch_size=12" in overrides and "MFLOP/px" in note
    assert "optimizer.lr=0.00015625" in overrides  # the recipe's SGD 0.01 at batch 64, scaled to batch 1
    overrides, note = smoke_recipes.overrides_for("fsrcnn_t91_x3", args())
    assert "data.batch_size=4" in overrides and not any(o.startswith("data.patch_size") for o in overrides)


def test_the_drcn_recipe_clips_its_gradients():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=drcn_t91"])
    assert cfg.trainer.gradient_clip_val == 1.0 and cfg.trainer.gradient_clip_algorithm == "norm"


def test_a_heavy_gan_gets_an_hr_patch_its_vgg_discriminator_takes():
    overrides, note = smoke_recipes.overrides_for("esrgan_x4", args())
    assert "model.discriminator.input_size=32" in overrides and "data.patch_size=8" in overrides, overrides
