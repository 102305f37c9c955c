"""The `train.py` entry point run as a subprocess: DDP, resuming, multiruns, optimizers from YAML, bicubic."""

import csv
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path

import pytest
import torch
import yaml
from hydra.utils import instantiate

from conftest import compose_train, run_cli, tiny_overrides
from srlab.cli.train import train
from srlab.data import SRDataModule
from srlab.metrics import SRQuality
from srlab.ops import imresize

QUALITY_KEYS = ("val/psnr", "val/ssim", "val/psnr_bicubic", "val/ssim_bicubic")
DDP_CPU = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]


@pytest.fixture
def loopback_ddp(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep DDP's rendezvous and gloo's sockets on 127.0.0.1, on a port that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo0" if sys.platform == "darwin" else "lo")


def train_runs(*arg_lists: list[str]) -> list[subprocess.CompletedProcess]:
    """Run `train.py` once per argument list, all at once: most of a tiny run is single-threaded start-up."""
    with ThreadPoolExecutor(len(arg_lists)) as pool:
        return list(pool.map(lambda args: run_cli("train.py", args), arg_lists))


def run_dir(log_dir: Path, task_name: str) -> Path:
    """The one run directory, `<log_dir>/<task_name>/<date>/<time>`."""
    dirs = [d for d in log_dir.glob(f"{task_name}/*/*") if d.is_dir()]
    assert len(dirs) == 1, f"expected one run directory of {task_name}, found {dirs}"
    return dirs[0]


def read_metrics(run: Path) -> dict:
    """The run's `metrics.json`: ckpt_path and the final validation scores."""
    return json.loads((run / "metrics.json").read_text())


def last_ckpt(run: Path) -> dict:
    """The run's `checkpoints/last.ckpt`, loaded as plain tensors and containers."""
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)


def logged_steps(run: Path, key: str) -> list[int]:
    """The steps at which `key` was written to the run's CSV log."""
    with open(run / "csv" / "version_0" / "metrics.csv") as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get(key)]


def bicubic_psnrs(folder: Path, scale: int) -> list[float]:
    """Per-image PSNR of bicubic upscaling of the images in `folder`, scored as validation scores them."""
    datamodule = SRDataModule(scale=scale, train=[], val={"v": [str(folder)]}, num_workers=0)
    values = []
    for batch in datamodule.val_dataloader()[0]:
        batch = datamodule.on_after_batch_transfer(batch, 0)
        quality = SRQuality(scale)
        quality.update(imresize(batch["lr"], scale).clamp(0, 1), batch["hr"], batch["grey"])
        values.append(float(quality.compute()["psnr"]))
    return values


@pytest.mark.usefixtures("loopback_ddp")
def test_ddp_validation_equals_one_process(tiny_data, tmp_path):
    """Two gloo processes score the 3 validation images exactly as one process does: none counted twice."""
    base = [*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=3", "train=false"]
    ddp, _ = train_runs([*base, *DDP_CPU, "task_name=ddp"], [*base, "trainer=cpu", "task_name=one"])
    assert "Starting with 2 processes" in ddp.stdout + ddp.stderr
    two, one = read_metrics(run_dir(tmp_path, "ddp")), read_metrics(run_dir(tmp_path, "one"))
    for key in QUALITY_KEYS:
        assert two[key] == pytest.approx(one[key], abs=1e-5), key

    psnrs = bicubic_psnrs(tiny_data["val"], scale=3)
    mean = sum(psnrs) / len(psnrs)
    assert len(psnrs) == 3 and one["val/psnr_bicubic"] == pytest.approx(mean, abs=1e-4)
    # DistributedSampler pads 3 images to 4 by repeating one; that mean would be off by (psnr_i - mean) / 4.
    assert min(abs(p - mean) for p in psnrs) / 4 > 1e-3


@pytest.mark.usefixtures("loopback_ddp")
def test_ddp_training_run(tiny_data, tmp_path):
    """A short 2-process training run shares one run directory and saves best.ckpt and last.ckpt."""
    run_cli("train.py", [*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", *DDP_CPU, "trainer.max_steps=4"])
    run = run_dir(tmp_path, "train")
    best = run / "checkpoints" / "best.ckpt"
    assert read_metrics(run)["ckpt_path"] == str(best) and best.exists()
    assert last_ckpt(run)["global_step"] == 4


def test_resume_continues_the_run(tiny_data, tmp_path):
    """16 steps in one go (A) and 8 steps (B) resumed to 16 (C) end in the same optimizer and schedule state."""
    base = [*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "scheduler=cosine", "trainer.log_every_n_steps=1"]
    with ThreadPoolExecutor(1) as pool:  # A runs beside B then C
        one_go = pool.submit(run_cli, "train.py", [*base, "task_name=a", "trainer.max_steps=16"])
        # T_max follows trainer.max_steps: B and C pin it to A's 16.
        run_cli("train.py", [*base, "task_name=b", "trainer.max_steps=8", "scheduler.T_max=16"])
        b = run_dir(tmp_path, "b")
        resume = ["task_name=c", "trainer.max_steps=16", "scheduler.T_max=16", f"ckpt_path={b}/checkpoints/last.ckpt"]
        run_cli("train.py", [*base, *resume])
        one_go.result()
    a, c = run_dir(tmp_path, "a"), run_dir(tmp_path, "c")

    ckpt_a, ckpt_b, ckpt_c = last_ckpt(a), last_ckpt(b), last_ckpt(c)
    assert (ckpt_a["global_step"], ckpt_b["global_step"], ckpt_c["global_step"]) == (16, 8, 16)
    groups_a, groups_c = ckpt_a["optimizer_states"][0]["param_groups"], ckpt_c["optimizer_states"][0]["param_groups"]
    assert [g["lr"] for g in groups_c] == pytest.approx([g["lr"] for g in groups_a], abs=1e-12)
    # Adam's own step counters carry on from B's 8 instead of restarting.
    assert {int(s["step"]) for s in ckpt_c["optimizer_states"][0]["state"].values()} == {16}
    sched_a, sched_c = ckpt_a["lr_schedulers"][0], ckpt_c["lr_schedulers"][0]
    assert sched_a["T_max"] == sched_c["T_max"] == 16
    assert (sched_c["last_epoch"], sched_c["_step_count"]) == (sched_a["last_epoch"], sched_a["_step_count"]) == (16, 17)
    assert sched_c["_last_lr"] == pytest.approx(sched_a["_last_lr"], abs=1e-12)

    steps_a, steps_c = logged_steps(a, "train/loss"), logged_steps(c, "train/loss")
    assert len(steps_a) == 16 and min(steps_a) == 0
    assert len(steps_c) == 8 and min(steps_c) >= 8


def test_last_ckpt_is_the_last_step(tiny_data, tmp_path):
    """last.ckpt is the state to resume from even when val/psnr stops improving (lr 0 keeps it constant)."""
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "optimizer.lr=0"], tmp_path / "run")
    train(cfg)
    ckpts = tmp_path / "run" / "checkpoints"
    assert torch.load(ckpts / "best.ckpt", weights_only=True)["global_step"] == 4  # the first of two equal scores
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["global_step"] == 8


def swept_values(job: Path) -> tuple[str, int]:
    """(model, scale) of a multirun job, from the overrides Hydra saved for it."""
    overrides = dict(o.split("=", 1) for o in yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()))
    return overrides["model"], int(overrides["data.scale"])


def test_multirun_models_by_scales(tiny_data, tmp_path):
    """`-m model=srcnn,fsrcnn,espcn data.scale=2,3,4` runs the nine combinations, each to its own checkpoint."""
    sweep = ["-m", "model=srcnn,fsrcnn,espcn", "data.scale=2,3,4"]
    fast = ["trainer.max_steps=2", "data.steps_per_epoch=2", "task_name=sweep"]
    run_cli("train.py", [*sweep, *tiny_overrides(tiny_data, tmp_path), *fast])
    jobs = [d for d in tmp_path.glob("sweep/multiruns/*/*/*") if d.is_dir()]
    assert sorted(map(swept_values, jobs)) == sorted(product(["srcnn", "fsrcnn", "espcn"], [2, 3, 4]))
    for job in jobs:
        ckpt = read_metrics(job)["ckpt_path"]
        assert ckpt is not None and Path(ckpt).is_file() and Path(ckpt).is_relative_to(job), job


def test_srcnn_optimizer_from_yaml(tmp_path):
    """`optimizer=sgd_srcnn` gives the paper's SGD: momentum 0.9, lr 1e-4 for the first two layers, 1e-5 last."""
    model = instantiate(compose_train(["model=srcnn", "optimizer=sgd_srcnn"], tmp_path).model)
    optimizer = model.configure_optimizers()["optimizer"]
    assert type(optimizer) is torch.optim.SGD
    assert all(g["momentum"] == 0.9 for g in optimizer.param_groups)
    grouped = [p for g in optimizer.param_groups for p in g["params"]]
    assert sorted(map(id, grouped)) == sorted(id(p) for p in model.net.parameters())  # each exactly once
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    net = model.net
    for module, lr in ((net.extraction, 1e-4), (net.mapping, 1e-4), (net.reconstruction, 1e-5)):
        assert [lr_of[id(p)] for p in module.parameters()] == pytest.approx([lr, lr])

    cfg = compose_train(["model=srcnn", "optimizer=adam", "optimizer.lr=3e-4"], tmp_path)
    optimizer = instantiate(cfg.model).configure_optimizers()["optimizer"]
    assert type(optimizer) is torch.optim.Adam
    assert {g["lr"] for g in optimizer.param_groups} == {3e-4}


def test_unknown_param_group_is_named(tmp_path):
    """A param group that matches no parameter fails with its module name."""
    overrides = ["model=srcnn", "optimizer=sgd_srcnn", "optimizer.param_groups=[{modules:[nope],lr:0.1}]"]
    model = instantiate(compose_train(overrides, tmp_path).model)
    with pytest.raises(ValueError, match="nope"):
        model.configure_optimizers()


def test_bicubic_validates_only(tiny_data, tmp_path):
    """`model=bicubic` trains nothing: no checkpoint, and its scores are the bicubic baseline's."""
    run_cli("train.py", [*tiny_overrides(tiny_data, tmp_path), "model=bicubic"])
    run = run_dir(tmp_path, "train")
    metrics = read_metrics(run)
    assert metrics["ckpt_path"] is None and not (run / "checkpoints").exists()
    assert metrics["val/psnr"] == pytest.approx(metrics["val/psnr_bicubic"], abs=1e-6)
    assert metrics["val/ssim"] == pytest.approx(metrics["val/ssim_bicubic"], abs=1e-6)
    assert 20 < metrics["val/psnr"] < 50
