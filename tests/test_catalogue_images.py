"""A catalogue of bad and unusual image files: each is refused with one error that names the file.

Each case makes a file in `tmp_path` and runs both readers (training/evaluation's and the upscaler's,
which are one reader); the last cases run `eval.py`, `train.py` and `upscale.py` on a folder holding one.
"""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, photo_crops, tiny_overrides
from srlab.data.images import list_images, read_image
from srlab.inference import read_image as read_for_upscaling


def photo_png(path: Path) -> Path:
    Image.fromarray(photo_crops([(64, 72)])[0]).save(path)
    return path


def cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def missing(tmp: Path) -> Path:
    return tmp / "missing.png"


def zero_bytes(tmp: Path) -> Path:
    (tmp / "empty.png").touch()
    return tmp / "empty.png"


def text_named_png(tmp: Path) -> Path:
    (tmp / "notes.png").write_text("these are notes, not pixels\n")
    return tmp / "notes.png"


def truncated_png(tmp: Path) -> Path:
    return cut_in_half(photo_png(tmp / "half.png"))


def truncated_jpeg(tmp: Path) -> Path:
    Image.fromarray(photo_crops([(40, 48)])[0]).save(tmp / "half.jpg", quality=90)
    return cut_in_half(tmp / "half.jpg")


def truncated_16_bit_colour(tmp: Path) -> Path:
    cv2.imwrite(str(tmp / "deep.png"), np.random.default_rng(0).integers(0, 65536, (40, 48, 3)).astype(np.uint16))
    return cut_in_half(tmp / "deep.png")


def corrupt_pixels(tmp: Path) -> Path:
    path = photo_png(tmp / "corrupt.png")
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 8
    data[start : start + 64] = bytes(64)  # zeros in the middle of the compressed pixels
    path.write_bytes(bytes(data))
    return path


def gif(tmp: Path) -> Path:
    Image.fromarray(photo_crops([(8, 8)])[0]).convert("P").save(tmp / "anim.gif")
    return tmp / "anim.gif"


def no_extension(tmp: Path) -> Path:
    photo_png(tmp / "scan.png").rename(tmp / "scan")
    return tmp / "scan"


def folder_named_png(tmp: Path) -> Path:
    (tmp / "album.png").mkdir()
    return tmp / "album.png"


def float_tiff(tmp: Path) -> Path:
    Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)).save(tmp / "depth.tif")
    return tmp / "depth.tif"


def int32_tiff(tmp: Path) -> Path:
    Image.fromarray(np.arange(64, dtype=np.int32).reshape(8, 8) * 1000).save(tmp / "counts.tif")
    return tmp / "counts.tif"


def float_npy(tmp: Path) -> Path:
    np.save(tmp / "floats.npy", np.zeros((4, 4, 3), np.float32))
    return tmp / "floats.npy"


READER_CASES: dict[str, tuple[Callable[[Path], Path], type[Exception], str]] = {
    "missing file": (missing, FileNotFoundError, "missing.png does not exist"),
    "zero bytes": (zero_bytes, OSError, "empty.png is empty \\(0 bytes\\)"),
    "text named .png": (text_named_png, OSError, "cannot decode image .*notes.png: it is not an image file"),
    "truncated PNG": (truncated_png, OSError, "half.png is truncated or corrupt"),
    "truncated JPEG": (truncated_jpeg, OSError, "half.jpg is truncated or corrupt"),
    "truncated 16-bit colour PNG": (truncated_16_bit_colour, OSError, "deep.png is truncated or corrupt"),
    "zeroed compressed pixels": (corrupt_pixels, OSError, "corrupt.png is truncated or corrupt"),
    "GIF extension": (gif, ValueError, "anim.gif has no image extension \\(.gif\\); images are .png"),
    "no extension": (no_extension, ValueError, "scan has no image extension \\(none\\)"),
    "folder named .png": (folder_named_png, IsADirectoryError, "album.png is a folder"),
    "32-bit float TIFF": (float_tiff, ValueError, "depth.tif has floating-point pixels"),
    "32-bit integer TIFF": (int32_tiff, ValueError, "counts.tif has 32-bit integer pixels"),
    "float .npy": (float_npy, OSError, "floats.npy is not an image of the .npy layout"),
}


@pytest.mark.parametrize("case", READER_CASES)
def test_reader_names_the_bad_file(tmp_path, case):
    make, error, message = READER_CASES[case]
    path = make(tmp_path)
    for reader in (read_image, read_for_upscaling):
        with pytest.raises(error, match=message) as caught:
            reader(path)
        assert str(path) in str(caught.value), reader.__module__


def test_folder_without_images_is_named(tmp_path):
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="scans holds no images \\(.png, .jpg"):
        list_images([tmp_path / "scans"])


# --- the command lines, on a folder holding one bad file -------------------------------------------


def run(script: str, args: list[str]) -> subprocess.CompletedProcess:
    """`python <script> <args>` from the repository root, whatever its exit code."""
    env = os.environ | {"NO_ALBUMENTATIONS_UPDATE": "1"}
    command = [sys.executable, str(ROOT / script), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=env)


def folder_with(tmp: Path, make: Callable[[Path], Path]) -> tuple[Path, Path]:
    """A folder of two good photos and the file `make` puts beside them."""
    folder = tmp / "images"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        photo_png(folder / name)
    return folder, make(folder)


def eval_args(val: str, out: Path) -> list[str]:
    return [
        "model=bicubic", "scales=[2]", "data=folder", "data.train=[]", f"data.val={{mine:[{val}]}}",
        "data.num_workers=0", "logger=csv", f"paths.log_dir={out}", f"paths.data_dir={out}/data",
    ]  # fmt: skip


def test_eval_py_names_a_truncated_image(tmp_path):
    folder, bad = folder_with(tmp_path, truncated_png)
    proc = run("eval.py", eval_args(str(folder), tmp_path / "logs"))
    assert proc.returncode != 0 and f"image {bad} is truncated or corrupt" in proc.stderr + proc.stdout


def test_eval_py_names_a_file_without_an_image_extension(tmp_path):
    (tmp_path / "list.txt").write_text("a.png\n")
    proc = run("eval.py", eval_args(str(tmp_path / "list.txt"), tmp_path / "logs"))
    assert proc.returncode != 0 and f"{tmp_path / 'list.txt'} has no image extension" in proc.stderr + proc.stdout


def test_train_py_names_an_empty_training_image(tmp_path, tiny_data):
    folder, bad = folder_with(tmp_path, zero_bytes)
    args = [*tiny_overrides(tiny_data, tmp_path / "logs"), f"data.train=[{folder}]"]
    proc = run("train.py", args)
    assert proc.returncode != 0 and f"image {bad} is empty (0 bytes)" in proc.stderr + proc.stdout
    assert not list((tmp_path / "logs").rglob("*.ckpt"))  # it stopped before training


def test_upscale_py_names_an_undecodable_input(tmp_path):
    folder, bad = folder_with(tmp_path, text_named_png)
    args = ["model=bicubic", "data.scale=2", f"input={folder}", f"output={tmp_path / 'out'}"]
    proc = run("upscale.py", args)
    assert proc.returncode != 0 and f"cannot decode image {bad}" in proc.stderr + proc.stdout
