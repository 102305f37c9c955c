"""kill -9 between checkpoints, then resume from last.ckpt: on the CPU with `trainer.deterministic=true`
the final weights equal an uninterrupted run's bit for bit, and metrics are logged at the same steps."""

import csv
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT, photo_crops, write_images


def train_args(data: Path, bank: bool, workers: int) -> list[str]:
    """Three epochs of 6 steps; last.ckpt is written at the end of each."""
    return [
        "data=folder", f"data.train=[{data / 'train'}]", f"data.val={{v:[{data / 'val'}]}}", f"data.bank={bank}",
        f"data.num_workers={workers}", "data.batch_size=4", "data.patch_size=16", "data.steps_per_epoch=6",
        "data.scale=2", "model=fsrcnn", "trainer.max_steps=18", "trainer.accelerator=cpu", "trainer.deterministic=true",
        "trainer.log_every_n_steps=1", "logger=csv", "callbacks.progress_bar=null", "callbacks.image_panels=null",
        f"paths.log_dir={data / 'logs'}", f"paths.data_dir={data / 'data'}",
    ]  # fmt: skip


def start(args: list[str], run: Path) -> subprocess.Popen:
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={run}"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen) -> None:
    out = proc.communicate(timeout=900)[0]
    assert proc.returncode == 0, out[-4000:]


def kill_after_first_checkpoint(proc: subprocess.Popen, last: Path) -> int:
    """SIGKILL as soon as `last` holds a whole checkpoint; its step."""
    end = time.monotonic() + 900
    while time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[0][-4000:]
        try:
            step = torch.load(last, weights_only=True)["global_step"]
        except (FileNotFoundError, RuntimeError, EOFError, pickle.UnpicklingError):  # not there yet, or being written
            time.sleep(0.02)
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return step
    pytest.fail(f"{last} did not appear")


def logged_steps(run: Path, key: str) -> list[int]:
    with open(run / "csv" / "version_0" / "metrics.csv") as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get(key)]


@pytest.mark.slow
@pytest.mark.parametrize(("bank", "workers"), [(True, 0), (False, 0), (False, 2)])
def test_kill_9_then_resume_equals_an_uninterrupted_run(bank, workers, tmp_path):
    write_images(tmp_path / "train", photo_crops([(96, 96)] * 3, seed=1))
    write_images(tmp_path / "val", photo_crops([(61, 73), (50, 59)], seed=2))
    args = train_args(tmp_path, bank, workers)
    whole, killed, resumed = tmp_path / "whole", tmp_path / "killed", tmp_path / "resumed"
    uninterrupted = start(args, whole)
    victim = start(args, killed)
    last = killed / "checkpoints" / "last.ckpt"
    step = kill_after_first_checkpoint(victim, last)
    assert step < 18
    finish(start([*args, f"ckpt_path={last}"], resumed))
    finish(uninterrupted)

    a = torch.load(whole / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 18
    nets = [k for k in a["state_dict"] if k.startswith("net.")]
    assert nets and all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in nets)
    for key in ("train/loss", "val/psnr"):
        expected = [s for s in logged_steps(whole, key) if s >= step]
        assert logged_steps(resumed, key) == expected, key
