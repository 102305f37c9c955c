"""Notices go through `logging` into `<run dir>/<task>.log` (Lightning's too), and a failed run's W&B
run is closed, marked failed."""

import logging
import os
import subprocess
import sys

from lightning.pytorch.utilities import rank_zero_only

from conftest import ROOT, run_cli, tiny_overrides
from srlab.cli.logs import RankZero
from wandb_files import read_offline_run


def test_train_and_upscale_logs_hold_their_notices(tiny_data, tmp_path):
    run_cli("train.py", [*tiny_overrides(tiny_data, tmp_path), "model=espcn", "data.scale=2", "trainer.max_steps=4",
                         "data.steps_per_epoch=2"])  # fmt: skip
    (log,) = (tmp_path / "train").glob("*/*/train.log")
    text = log.read_text()
    assert "best checkpoint:" in text and "model PSNR (dB)" in text  # srlab's report
    assert "`Trainer.fit` stopped: `max_steps=4` reached." in text  # Lightning's own notice
    run_cli("upscale.py", ["model=bicubic", "data.scale=2", f"input={tiny_data['val']}", f"output={tmp_path}/sr",
                           f"paths.log_dir={tmp_path}"])  # fmt: skip
    (log,) = (tmp_path / "upscale").glob("*/*/upscale.log")
    assert log.read_text().count(f" -> {tmp_path}/sr/") == 3  # a line per image


def test_a_failed_run_logs_its_error_and_closes_its_wandb_run_as_failed(tiny_data, tmp_path):
    run = tmp_path / "run"
    args = [*tiny_overrides(tiny_data, tmp_path), "model=espcn", "data.scale=2", "logger=wandb",
            "loss._target_=faults.NaNAfter", "+loss.calls=2", f"hydra.run.dir={run}"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 1
    assert "non-finite loss at training step 3" in (run / "train.log").read_text()
    assert read_offline_run(run).exit_codes == [1]


def test_notices_of_other_ranks_are_left_out_of_the_log(monkeypatch) -> None:
    """Under DDP every process logs; the log file gets rank 0's notices, and warnings and errors of any rank."""
    record = lambda level: logging.LogRecord("srlab", level, __file__, 1, "best checkpoint: x", None, None)  # noqa: E731
    monkeypatch.setattr(rank_zero_only, "rank", 1, raising=False)
    assert not RankZero().filter(record(logging.INFO))
    assert RankZero().filter(record(logging.WARNING)) and RankZero().filter(record(logging.ERROR))
    monkeypatch.setattr(rank_zero_only, "rank", 0)
    assert RankZero().filter(record(logging.INFO))
