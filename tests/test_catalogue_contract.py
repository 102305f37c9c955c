"""A catalogue of scale requests around the model contract: the scales a net can be built at, the scales
a built net can switch to, and the one `check_scale` that eval, training and weight loading go through.

Each refused case asserts that the message names the culprit (the checkpoint, option or weight), the class
and the scales; the eval.py case runs as a real subprocess and asserts its exit code.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from conftest import ROOT, compose_train, tiny_overrides
from srlab import pretrained
from srlab.cli.checkpoint import load_net
from srlab.cli.evaluate import evaluate
from srlab.cli.train import train
from srlab.models import FSRCNN, MDSR, VDSR
from srlab.models.contract import check_scale


def write_checkpoint(path: Path, net_config: dict) -> Path:
    """A checkpoint as `train.py` writes it, as far as `load_net` reads one: the net config and weights."""
    net = instantiate(net_config)
    torch.save({"state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}, "net_config": net_config}, path)
    return path


def eval_overrides(tiny_data: dict[str, Path], out: Path) -> list[str]:
    return ["data=folder", "data.train=[]", f"data.val={{tiny:[{tiny_data['val']}]}}", "data.num_workers=0",
            "logger=csv", f"paths.log_dir={out}", f"paths.data_dir={out}/data"]  # fmt: skip


TINY_EDSR = {"_target_": "srlab.models.EDSR", "scale": 2, "num_features": 8, "num_blocks": 1}


def test_edsr_x2_checkpoint_asked_for_x3_in_eval_py_names_the_checkpoint_and_its_scales(tiny_data, tmp_path):
    ckpt = write_checkpoint(tmp_path / "edsr_x2.ckpt", TINY_EDSR)
    command = [sys.executable, str(ROOT / "eval.py"), *eval_overrides(tiny_data, tmp_path), f"ckpt_path={ckpt}",
               "scales=[3]", f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    env = os.environ | {"NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert f"ckpt_path={ckpt}, scales=[3]: EDSR built at x2 cannot produce x3; it can switch to x2 only" in output
    assert "size of tensor" not in output  # refused up front, not by a shape error in the net


def test_upscale_py_refuses_a_scale_the_checkpoint_cannot_produce_and_switches_a_multi_scale_net(tmp_path):
    from srlab.cli.upscale import build_net

    edsr = write_checkpoint(tmp_path / "edsr_x2.ckpt", TINY_EDSR)
    mdsr = write_checkpoint(tmp_path / "mdsr_x2.ckpt", {**TINY_EDSR, "_target_": "srlab.models.MDSR"})
    with pytest.raises(ValueError, match=rf"ckpt_path={edsr}, data.scale=3: EDSR built at x2 cannot produce x3"):
        build_net(compose_train([f"ckpt_path={edsr}", "data.scale=3"], tmp_path / "run", "upscale"))
    net = build_net(compose_train([f"ckpt_path={mdsr}", "data.scale=4"], tmp_path / "run", "upscale"))
    assert net(torch.rand(1, 3, 5, 6)).shape == (1, 3, 20, 24)


def test_mdsr_built_at_x2_switches_to_x3_in_eval(tiny_data, tmp_path):
    config = {"_target_": "srlab.models.MDSR", "scale": 2, "num_features": 8, "num_blocks": 1}
    ckpt = write_checkpoint(tmp_path / "mdsr_x2.ckpt", config)
    rows = evaluate(compose_train([*eval_overrides(tiny_data, tmp_path), f"ckpt_path={ckpt}", "scales=[3]"],
                                  tmp_path / "run", "eval"))  # fmt: skip
    assert {(r["method"], r["scale"]) for r in rows} == {("Bicubic", 3), ("MDSR", 3)}
    assert load_net(ckpt).run_scales == MDSR.build_scales == (2, 3, 4)


def test_vdsr_takes_any_scale_and_its_output_has_that_size(tiny_data, tmp_path):
    config = {"_target_": "srlab.models.VDSR", "scale": 2, "num_features": 8, "num_layers": 3}
    ckpt = write_checkpoint(tmp_path / "vdsr_x2.ckpt", config)
    rows = evaluate(compose_train([*eval_overrides(tiny_data, tmp_path), f"ckpt_path={ckpt}", "scales=[3,5]"],
                                  tmp_path / "run", "eval"))  # fmt: skip
    assert {r["scale"] for r in rows if r["method"] == "VDSR"} == {3, 5}
    net = VDSR(2, num_features=8, num_layers=3)
    check_scale(net, 7, "test")
    with pytest.raises(ValueError, match=r"test: VDSR built at x2 cannot produce x0; it can switch to any positive"):
        check_scale(net, 0, "test")


@pytest.mark.parametrize(
    ("model", "scale", "message"),
    [("edsr", 5, "EDSR can be built at x2, x3, x4, not at scale 5"),
     ("lapsrn", 3, "LapSRN can be built at x2, x4, x8, not at scale 3"),
     ("enhancenet", 2, "EnhanceNet can be built at x4, not at scale 2")],
)  # fmt: skip
def test_building_at_an_unsupported_scale_names_the_class_and_its_scales(model, scale, message, tiny_data, tmp_path):
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), f"model={model}", f"data.scale={scale}"], tmp_path)
    with pytest.raises(Exception, match=message):
        instantiate(cfg.model.net)


def test_training_with_an_impossible_train_scale_names_data_train_scales_before_any_step(tiny_data, tmp_path):
    overrides = [*tiny_overrides(tiny_data, tmp_path), "model=edsr_baseline", "model.net.num_features=8",
                 "model.net.num_blocks=1", "data.scale=2", "data.train_scales=[2,4]"]  # fmt: skip
    with pytest.raises(ValueError, match=r"data.train_scales=\[2, 4\]: EDSR built at x2 cannot produce x4; it can"):
        train(compose_train(overrides, tmp_path / "run"))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_shipped_weight_at_another_scale_is_refused_unless_the_net_can_switch_to_it(monkeypatch):
    fake = {
        "fsrcnn_x3": {"model": "fsrcnn", "net": {"_target_": "srlab.models.FSRCNN", "scale": 3, "d": 8, "s": 4}},
        "vdsr_x3": {"model": "vdsr", "net": {"_target_": "srlab.models.VDSR", "scale": 3, "num_layers": 3}},
    }
    weights = {name: instantiate(info["net"]).state_dict() for name, info in fake.items()}
    monkeypatch.setattr(pretrained, "manifest", lambda: fake)
    monkeypatch.setattr(pretrained, "state_dict", lambda name: weights[name])
    refused = r"pretrained=fsrcnn_x3 is a x3 FSRCNN, but the net is built at x2 \(data.scale\): FSRCNN built at x2"
    with pytest.raises(ValueError, match=refused + " cannot produce x3"):
        pretrained.load_pretrained(FSRCNN(2, d=8, s=4), "fsrcnn_x3")
    vdsr = VDSR(2, num_layers=3)
    pretrained.load_pretrained(vdsr, "vdsr_x3")  # a pre-upsampled net: one set of weights for every scale
    assert all(torch.equal(v, weights["vdsr_x3"][k]) for k, v in vdsr.state_dict().items())


def test_a_checkpoint_whose_net_is_not_an_srnet_is_refused_naming_it(tmp_path):
    ckpt = tmp_path / "identity.ckpt"
    torch.save({"state_dict": {"net.x": torch.zeros(1)}, "net_config": {"_target_": "torch.nn.Identity"}}, ckpt)
    with pytest.raises(ValueError, match=rf"{ckpt}: Identity does not declare its channels and scales: derive it from"):
        load_net(ckpt)
