"""A regular (non-editable) install: the configs ship inside the package, and `srlab models`,
`srlab-train`, `srlab-eval` and `srlab-upscale` work from a wheel installed into a fresh virtual environment."""

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT
from srlab.cli import zoo
from srlab.cli.config import CONF_DIR


def test_the_package_ships_every_config():
    """`srlab/conf` is the repository's conf/, and the package data patterns take every file in it."""
    package = ROOT / "src" / "srlab"
    assert CONF_DIR == package / "conf" and (package / "conf").resolve() == ROOT / "conf"
    assert zoo.CONF == package / "conf"
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["srlab"]
    shipped = {p.relative_to(package).as_posix() for pattern in patterns for p in package.glob(pattern)}
    files = {f"conf/{p.relative_to(ROOT / 'conf').as_posix()}" for p in (ROOT / "conf").rglob("*") if p.is_file()}
    assert shipped == files and len(files) > 100


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(args)}: {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_wheel_installs_and_runs_every_entry_point(tmp_path):
    # Build from a copy of the sources, without network or build isolation (setuptools of this venv).
    source = tmp_path / "source"
    for name in ("conf", "src"):  # src/srlab/conf stays a link to conf/
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
         str(source)], tmp_path, env)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("srlab-*.whl")
    # A fresh venv that gets the wheel, and this venv's packages (torch, ...) through a .pth file. The
    # editable install of srlab here is not one of them: it is a .pth of this venv, read only in its own.
    venv.create(tmp_path / "env", with_pip=False)
    bin_dir = tmp_path / "env" / "bin"
    purelib = sysconfig.get_path("purelib", vars={"base": str(tmp_path / "env"), "platbase": str(tmp_path / "env")})
    Path(purelib, "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--no-deps", str(wheel)],
        tmp_path, env)  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in env.items() if k != "SRLAB_ROOT"} | {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    where = run([str(bin_dir / "python"), "-c", "import srlab; print(srlab.__file__)"], work, env).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "env"), where
    models = run([str(bin_dir / "srlab"), "models", "--markdown"], work, env).stdout
    assert "| fsrcnn | FSRCNN |" in models and models.count("\n") > 20
    run([str(bin_dir / "srlab-train"), "debug=fdr", "model=espcn"], work, env)
    (log,) = (work / "logs" / "debug").glob("*/*/debug.log")  # data/ and logs/ in the working folder
    assert "best checkpoint:" in log.read_text() and (work / "data" / "sample" / "train").is_dir()
    # the other entry points, on the sample photos the training wrote and on a shipped weight
    run([str(bin_dir / "srlab-eval"), "pretrained=fsrcnn_x3", "data=sample"], work, env)
    (results,) = (work / "logs" / "eval").glob("*/*/results.csv")
    assert {row["method"] for row in csv.DictReader(results.open())} == {"FSRCNN", "Bicubic"}
    photo = sorted((work / "data" / "sample" / "val").iterdir())[0]
    run([str(bin_dir / "srlab-upscale"), "pretrained=fsrcnn_x3", f"input={photo}", f"output={work / 'out'}"], work, env)
    with Image.open(photo) as lr, Image.open(work / "out" / f"{photo.stem}.png") as sr:
        assert sr.size == (3 * lr.width, 3 * lr.height)
