"""Callbacks usable by every model: `ema` (SRSystem's EMA of the weights, which validation, eval.py and
upscale.py use) and `early_stopping`."""

import json

import pytest
import torch

from conftest import compose_train, tiny_overrides
from srlab.cli.checkpoint import load_net
from srlab.cli.evaluate import evaluate, summarise
from srlab.cli.train import train


def run(tiny_data, out, *overrides: str) -> tuple[dict, dict[str, float]]:
    """Train FSRCNN x2 in-process; its best.ckpt state dict and metrics.json."""
    cfg = compose_train([*tiny_overrides(tiny_data, out), "model=fsrcnn", "data.scale=2", *overrides], out / "run")
    train(cfg)
    state = torch.load(out / "run" / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    return state, json.loads((out / "run" / "metrics.json").read_text())


def net_weights(state: dict, prefix: str) -> dict[str, torch.Tensor]:
    return {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}


def test_ema_callback_averages_the_net_and_eval_scores_the_average(tiny_data, tmp_path):
    state, metrics = run(tiny_data, tmp_path, "callbacks=[default,ema]", "callbacks.ema.decay=0.5")
    net, ema = net_weights(state, "net."), net_weights(state, "net_ema.")
    assert net.keys() == ema.keys() and any(not torch.equal(net[k], ema[k]) for k in net)
    # eval.py and upscale.py load the average ...
    loaded = load_net(tmp_path / "run" / "checkpoints" / "best.ckpt").state_dict()
    assert all(torch.equal(loaded[k], ema[k]) for k in ema)
    # ... which is what validation scored: eval.py's mean over the same images equals the final scoring.
    eval_cfg = compose_train([
        "data=folder", "data.train=[]", f"data.val={{tiny:[{tiny_data['val']}]}}", "data.num_workers=0",
        "logger=csv", f"paths.log_dir={tmp_path}", f"ckpt_path={tmp_path}/run/checkpoints/best.ckpt",
    ], tmp_path / "eval", "eval")  # fmt: skip
    assert summarise(evaluate(eval_cfg))[("FSRCNN", 2, "tiny")][0] == pytest.approx(metrics["val/psnr"], abs=1e-3)


def test_ema_of_decay_zero_is_the_net_and_resume_needs_the_ema(tiny_data, tmp_path):
    state, _ = run(tiny_data, tmp_path, "callbacks=[default,ema]", "callbacks.ema.decay=0")
    net, ema = net_weights(state, "net."), net_weights(state, "net_ema.")
    assert all(torch.equal(net[k], ema[k]) for k in net)  # ema = w after every step
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=2", f"ckpt_path={last}",
                         "trainer.max_steps=12"], tmp_path / "resumed")  # fmt: skip
    with pytest.raises(ValueError, match=r"holds an EMA .*callbacks=\[default,ema\]"):
        train(cfg)
    with pytest.raises(ValueError, match=r"callbacks.ema.decay must be in \[0, 1\), got 1.0"):
        run(tiny_data, tmp_path / "bad", "callbacks=[default,ema]", "callbacks.ema.decay=1.0")


def test_early_stopping_ends_training_when_val_psnr_stalls(tiny_data, tmp_path):
    # min_delta=100 dB: no validation counts as an improvement, so patience=1 stops at the second one.
    run(tiny_data, tmp_path, "callbacks=[default,early_stopping]", "callbacks.early_stopping.patience=1",
        "callbacks.early_stopping.min_delta=100", "trainer.max_steps=40")  # fmt: skip
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 8  # 2 validations of data.steps_per_epoch=4 steps, not 40 steps
