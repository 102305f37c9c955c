"""A catalogue of `python upscale.py` runs around existing results and memory limits, as real subprocesses.

Each case asserts the exit code and that the message names the culprit (the file, the option and its
value); the runs that succeed check what is in the output folder afterwards.
"""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from conftest import ROOT, photo_crops

BICUBIC = ["model=bicubic", "data.scale=2"]


def run(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    """`python upscale.py <args>` from the repository root, whatever its exit code."""
    env = os.environ | {"NO_ALBUMENTATIONS_UPDATE": "1"}
    command = [sys.executable, str(ROOT / "upscale.py"), *args, f"paths.log_dir={tmp / 'logs'}"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env)


def fails_naming(proc: subprocess.CompletedProcess, *names: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    for name in names:
        assert name in output, f"{name!r} is not named in:\n{output[-2000:]}"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of three small PNGs: a, b and c."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, image in zip("abc", photo_crops([(20, 24), (18, 22), (16, 20)], seed=7), strict=True):
        cv2.imwrite(str(folder / f"{name}.png"), image[..., ::-1])
    return folder


def test_an_existing_output_stops_the_run_and_is_kept(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.png").write_bytes(b"yesterday's result")
    proc = run([*BICUBIC, f"input={photos}", f"output={out}"], tmp_path)
    fails_naming(proc, f"{out / 'b.png'} exists", "overwrite=true", "skip_existing=true")
    assert (out / "b.png").read_bytes() == b"yesterday's result"
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]  # stopped before any image


def test_overwrite_true_replaces_an_existing_output(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"yesterday's result")
    proc = run([*BICUBIC, f"input={photos / 'a.png'}", f"output={out}", "overwrite=true"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(out / "a.png")).shape == (40, 48, 3)


def test_skip_existing_resumes_an_interrupted_folder_run(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.png").write_bytes(b"done before the interrupt")
    (out / "c.png.partial").write_bytes(b"half of c, from the killed run")
    proc = run([*BICUBIC, f"input={photos}", f"output={out}", "skip_existing=true"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "1 of 3 outputs exist already" in proc.stdout
    assert (out / "b.png").read_bytes() == b"done before the interrupt"
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.png"]  # the stale .partial is replaced
    assert cv2.imread(str(out / "c.png")).shape == (32, 40, 3)


def test_overwrite_and_skip_existing_together_are_refused(photos, tmp_path):
    both = ["overwrite=true", "skip_existing=true"]
    proc = run([*BICUBIC, f"input={photos}", f"output={tmp_path / 'out'}", *both], tmp_path)
    fails_naming(proc, "overwrite=true and skip_existing=true")


def test_a_flag_that_is_not_a_boolean_is_named(photos, tmp_path):
    proc = run([*BICUBIC, f"input={photos}", f"output={tmp_path / 'out'}", "overwrite=maybe"], tmp_path)
    fails_naming(proc, "overwrite=maybe: expected true or false")


def test_export_to_an_existing_file_is_refused(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"an earlier export")
    proc = run([*BICUBIC, "export=onnx", f"output={tmp_path / 'model.onnx'}"], tmp_path)
    fails_naming(proc, f"{tmp_path / 'model.onnx'} exists", "overwrite=true")
    assert (tmp_path / "model.onnx").read_bytes() == b"an earlier export"


def test_an_image_over_max_memory_is_refused_before_upscaling(photos, tmp_path):
    out = tmp_path / "out"
    proc = run([*BICUBIC, f"input={photos / 'a.png'}", f"output={out}", "max_memory=1MB"], tmp_path)
    fails_naming(proc, str(photos / "a.png"), "24x20 to 48x40", "more than max_memory=1MB", "smaller tile")
    assert not list(out.iterdir())  # no result, no .partial


def test_an_image_within_max_memory_is_upscaled(photos, tmp_path):
    proc = run([*BICUBIC, f"input={photos / 'a.png'}", f"output={tmp_path / 'out'}", "max_memory=1TB"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(tmp_path / "out" / "a.png")).shape == (40, 48, 3)


@pytest.mark.parametrize("value", ["lots", "0", "-2GB", "4XB"])
def test_a_bad_max_memory_is_named(value, photos, tmp_path):
    proc = run([*BICUBIC, f"input={photos}", f"output={tmp_path / 'out'}", f"max_memory={value}"], tmp_path)
    fails_naming(proc, f"max_memory={value}: expected a size such as 4GB")
    assert not (tmp_path / "out").exists()


def test_a_missing_input_is_named(tmp_path):
    proc = run([*BICUBIC, f"input={tmp_path / 'nowhere'}", f"output={tmp_path / 'out'}"], tmp_path)
    fails_naming(proc, str(tmp_path / "nowhere"))
    assert not (tmp_path / "out").exists()
