"""A catalogue of bad input to the entry points: option values, config errors, checkpoints, evaluation
images and interrupts. Each case asserts the exit status, that the message names the culprit (option,
value or file) and that no traceback is printed.

Most cases run `train()` in-process inside `reported_errors`, the wrapper of every entry point; the
cases that only the command line has (Hydra's own errors, the debug switch, Ctrl-C) run the scripts.
"""

import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from conftest import ROOT, compose_train, photo_crops, tiny_overrides, write_images
from srlab.cli.errors import reported_errors
from srlab.cli.train import train


def run_train(overrides: list[str], out: Path, caplog: pytest.LogCaptureFixture, capsys) -> tuple[int, str]:
    """`train()` as train.py runs it: (exit status, everything logged and printed). A later override of a
    key replaces an earlier one (Hydra would merge a dict into a dict, and refuse a list there)."""
    last = {o.partition("=")[0]: o for o in overrides}
    cfg = compose_train(list(last.values()), out / "run")
    with caplog.at_level(logging.INFO, logger="srlab"), pytest.raises(SystemExit) as stop:
        with reported_errors():
            train(cfg)
    captured = capsys.readouterr()
    return stop.value.code, caplog.text + captured.out + captured.err


def run_script(script: str, args: list[str], **env: str) -> subprocess.CompletedProcess:
    """`python <script> <args>` from the repository root, whatever its exit status."""
    command = [sys.executable, str(ROOT / script), *args]
    environment = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "SRLAB_DEBUG")}
    environment |= {"NO_ALBUMENTATIONS_UPDATE": "1", **env}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


def assert_refused(code: int, text: str, *culprits: str) -> None:
    assert code == 1, text[-3000:]
    for culprit in culprits:
        assert culprit in text, f"{culprit!r} not in:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]


# --- option values, named where they enter ------------------------------------------------------
POSITIVE = "must be a positive integer"
VALUE_CASES: dict[str, tuple[str, ...]] = {
    "patch size 0": ("data.patch_size=0", f"data.patch_size {POSITIVE} of LR pixels, e.g. data.patch_size=24; got 0"),
    "batch size 0": ("data.batch_size=0", f"data.batch_size {POSITIVE}, e.g. data.batch_size=16; got 0"),
    "negative batch size": ("data.batch_size=-4", f"data.batch_size {POSITIVE}, e.g. data.batch_size=16; got -4"),
    "batch size not a number": ("data.batch_size=abc", f"data.batch_size {POSITIVE}", "got 'abc'"),
    "steps per epoch 0": ("data.steps_per_epoch=0", f"data.steps_per_epoch {POSITIVE}"),
    "fractional patch size": ("data.patch_size=2.5", f"data.patch_size {POSITIVE}", "got 2.5"),
    "negative workers": ("data.num_workers=-1", "data.num_workers must be 0 (load in the main process) or more"),
    "negative noise": ("data.noise_sigma=-1", "data.noise_sigma must be 0 or a positive number of grey levels; got -1"),
    "not a boolean": ("data.cache=maybe", "data.cache must be true or false; got 'maybe'"),
    "train scale 0": ("data.train_scales=[0]", "data.train_scales must be null or a list of positive integers"),
    "validation as a list": ("data.val=[somewhere]", "data.val must be named sets of folders, e.g. 'data.val={mine:["),
    "max steps 0": ("trainer.max_steps=0", "trainer.max_steps must be a positive number of optimizer steps"),
    "max steps not a number": ("trainer.max_steps=abc", "trainer.max_steps must be a positive number of optimizer"),
    "log interval 0": ("trainer.log_every_n_steps=0", f"trainer.log_every_n_steps {POSITIVE}"),
    "negative learning rate": ("optimizer.lr=-1", "optimizer.lr must be a positive number", "got -1"),
}  # fmt: skip


@pytest.mark.parametrize("case", VALUE_CASES)
def test_a_bad_option_value_names_its_key(case, tiny_data, tmp_path, caplog, capsys):
    override, *messages = VALUE_CASES[case]
    code, text = run_train([*tiny_overrides(tiny_data, tmp_path), override], tmp_path, caplog, capsys)
    assert_refused(code, text, *messages)
    assert not list(tmp_path.rglob("*.ckpt"))


# --- checkpoints to resume from -----------------------------------------------------------------
def fake_checkpoint(path: Path, model: str, scale: int, tmp_path: Path, whole: bool = True) -> Path:
    """A checkpoint as train.py writes it, as far as the check before resuming reads it: the net's weights
    and config, and (`whole`) the keys of the training state."""
    net_cfg = compose_train([f"model={model}", f"data.scale={scale}"], tmp_path / "compose").model.net
    state = {f"net.{k}": v for k, v in instantiate(net_cfg).state_dict().items()}
    ckpt = {"state_dict": state, "net_config": OmegaConf.to_container(net_cfg, resolve=True)}
    if whole:
        ckpt |= {"pytorch-lightning_version": lightning.__version__, "optimizer_states": [], "loops": {}}
    torch.save(ckpt, path)
    return path


def text_file(path: Path) -> Path:
    path.write_text("notes\n")
    return path


def truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


CHECKPOINT_CASES = {
    "missing": (lambda tmp: tmp / "nowhere.ckpt", "does not exist"),
    "truncated": (lambda tmp: truncated(fake_checkpoint(tmp / "cut.ckpt", "fsrcnn", 2, tmp)), "is not a PyTorch"),
    "a text file": (lambda tmp: text_file(tmp / "notes.ckpt"), "is not a PyTorch checkpoint"),
    "another model": (
        lambda tmp: fake_checkpoint(tmp / "espcn.ckpt", "espcn", 2, tmp),
        "was written by another net (_target_: 'srlab.models.ESPCN' then, 'srlab.models.FSRCNN' now",
    ),
    "another scale": (lambda tmp: fake_checkpoint(tmp / "x3.ckpt", "fsrcnn", 3, tmp), "scale: 3 then, 2 now"),
    "weights only": (
        lambda tmp: fake_checkpoint(tmp / "weights.ckpt", "fsrcnn", 2, tmp, whole=False),
        "has no pytorch-lightning_version, optimizer_states, loops: it is not a whole checkpoint of train.py",
    ),
}


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_a_checkpoint_that_cannot_be_resumed_is_named(case, tiny_data, tmp_path, caplog, capsys):
    make, message = CHECKPOINT_CASES[case]
    path = make(tmp_path)
    overrides = [*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=2", f"ckpt_path={path}"]
    code, text = run_train(overrides, tmp_path, caplog, capsys)
    assert_refused(code, text, "ckpt_path", str(path), message)


# --- evaluation images: all checked before the first training step ------------------------------
def tiny_image(side: int):
    return lambda folder: Image.fromarray(photo_crops([(side, side)])[0]).save(folder / f"tiny{side}.png")


IMAGE_CASES = {
    "2x2": (tiny_image(2), "tiny2.png is 2x2: at scale 2 an image needs at least 16x16 pixels"),
    "12x12": (tiny_image(12), "tiny12.png is 12x12: at scale 2 an image needs at least 16x16 pixels"),
    "undecodable": (lambda folder: (folder / "notes.png").write_text("notes"), "cannot decode image"),
    "truncated": (lambda folder: truncated(write_images(folder, photo_crops([(40, 40)])) / "img00.png"), "truncated"),
}


@pytest.mark.parametrize("case", IMAGE_CASES)
def test_a_bad_validation_image_stops_the_run_before_training(case, tiny_data, tmp_path, caplog, capsys):
    make, message = IMAGE_CASES[case]
    val = write_images(tmp_path / "val", photo_crops([(40, 40)] * 2, seed=5))
    extra = tmp_path / "extra"
    extra.mkdir()
    make(extra)
    bad = next(extra.iterdir())
    overrides = [*tiny_overrides(tiny_data, tmp_path), "data.scale=2", f"data.val={{tiny:[{val}],extra:[{extra}]}}"]
    code, text = run_train(overrides, tmp_path, caplog, capsys)
    assert_refused(code, text, str(bad), message)
    assert not list(tmp_path.rglob("*.ckpt"))
    assert not any("train/loss" in log.read_text() for log in tmp_path.rglob("metrics.csv"))  # not a single step


def test_a_bad_test_image_stops_the_run_before_training_with_test_true(tiny_data, tmp_path, caplog, capsys):
    tests = tmp_path / "tests"
    tests.mkdir()
    tiny_image(12)(tests)
    overrides = [*tiny_overrides(tiny_data, tmp_path), "data.scale=2", "test=true", f"data.test={{t:[{tests}]}}"]
    code, text = run_train(overrides, tmp_path, caplog, capsys)
    assert_refused(code, text, str(tests / "tiny12.png"), "is 12x12")
    assert not list(tmp_path.rglob("*.ckpt"))


def test_a_missing_validation_folder_is_named(tiny_data, tmp_path, caplog, capsys):
    overrides = [*tiny_overrides(tiny_data, tmp_path), f"data.val={{gone:[{tmp_path / 'gone'}]}}"]
    code, text = run_train(overrides, tmp_path, caplog, capsys)
    assert_refused(code, text, f"image file or folder {tmp_path / 'gone'} does not exist")


# --- the command lines ---------------------------------------------------------------------------
def cli_args(tiny_data, out: Path) -> list[str]:
    return [*tiny_overrides(tiny_data, out), "model=fsrcnn", "data.scale=2", "callbacks.progress_bar=null"]


HYDRA_CASES = {
    "unknown key": ("data.colour=1", "Could not override 'data.colour'"),
    "unknown model": ("model=nope", "Could not find 'model/nope'"),
    "broken override": ("data.batch_size=[", "data.batch_size=["),
    "value through the command line": ("data.batch_size=abc", "data.batch_size must be a positive integer"),
}


@pytest.mark.parametrize("case", HYDRA_CASES)
def test_train_py_prints_config_errors_without_a_traceback(case, tiny_data, tmp_path):
    override, message = HYDRA_CASES[case]
    proc = run_script("train.py", [*cli_args(tiny_data, tmp_path), override])
    assert_refused(proc.returncode, proc.stdout + proc.stderr, message)


def test_eval_and_upscale_name_a_missing_checkpoint(tmp_path):
    missing = tmp_path / "missing.ckpt"
    eval_proc = run_script("eval.py", [f"ckpt_path={missing}", f"paths.log_dir={tmp_path}", "logger=csv"])
    up_proc = run_script("upscale.py", [f"ckpt_path={missing}", f"input={tmp_path}", f"output={tmp_path / 'out'}",
                                       f"paths.log_dir={tmp_path}"])  # fmt: skip
    for proc in (eval_proc, up_proc):
        assert_refused(proc.returncode, proc.stdout + proc.stderr, str(missing), "does not exist")


@pytest.mark.parametrize("variable", ["SRLAB_DEBUG", "HYDRA_FULL_ERROR"])
def test_a_debug_variable_prints_the_traceback(variable, tiny_data, tmp_path):
    proc = run_script("train.py", [*cli_args(tiny_data, tmp_path), "data.patch_size=0"], **{variable: "1"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" in out and "data.patch_size must be a positive integer" in out


# --- Ctrl-C ----------------------------------------------------------------------------------------
def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} did not appear"
        time.sleep(0.05)


def test_ctrl_c_writes_last_ckpt_at_the_interrupt_and_prints_the_resume_command(tiny_data, tmp_path):
    run, marker = tmp_path / "run", tmp_path / "training"
    args = [*cli_args(tiny_data, tmp_path), "data.steps_per_epoch=1000", "trainer.max_steps=1000",
            "+callbacks.marker._target_=run_probes.StepMarker", f"+callbacks.marker.path={marker}",
            "+callbacks.marker.step=2"]  # fmt: skip
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": str(ROOT / "tests")}
    command = [sys.executable, str(ROOT / "train.py"), *args, f"hydra.run.dir={run}"]
    # SIG_DFL first: a suite started in the background by a non-interactive shell inherits SIGINT ignored,
    # and a Python started so never raises KeyboardInterrupt.
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    wait_for(marker, proc)
    assert not (run / "checkpoints").exists()  # no epoch has ended: what follows is written at the interrupt
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=300)[0]
    last = run / "checkpoints" / "last.ckpt"
    step = torch.load(last, weights_only=True)["global_step"]
    assert proc.returncode != 0 and 2 <= step < 1000, out[-3000:]
    assert f"interrupted at step {step}: wrote {last}" in out
    assert f"Resume with: {shlex.join(['python', 'train.py', *args, f'ckpt_path={last}'])}" in out
    assert "Traceback" not in out

    resumed = run_script("train.py", [*cli_args(tiny_data, tmp_path), "data.steps_per_epoch=1000",
                                      f"trainer.max_steps={step + 2}", f"ckpt_path={last}",
                                      f"hydra.run.dir={tmp_path / 'resumed'}"])  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    ckpt = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == step + 2
