"""The benchmark harness runs end to end in its quick mode and renders the README section (no timing asserted)."""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import render  # noqa: E402
import run  # noqa: E402


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.random.default_rng(i).integers(0, 256, (90, 120, 3), dtype=np.uint8))
    return folder


def test_quick_run_measures_and_renders(photos: Path, tmp_path: Path) -> None:
    output = tmp_path / "cpu.json"
    run.main(["--quick", "--data", str(photos), "--models", "fsrcnn_x3", "--only", "inference", "training", "knobs",
              "--output", str(output)])  # fmt: skip
    results = json.loads(output.read_text())
    assert results["hardware"]["device"] == "cpu" and results["ceilings"]["peak_gflops_float32"] > 0
    (frame,) = results["inference"]
    assert set(frame["modes"]) == {"eager", "channels_last", "fast", "onnxruntime"}
    assert all(v["fps"] > 0 and v["compute_roofline"] > 0 for v in frame["modes"].values())
    (train,) = results["training"]
    assert train["bank"]["ratio"] > 0 and train["loader"]["it_s"] > 0
    knobs = {r["case"]: r for r in results["knobs"]}
    assert knobs["eager"]["ratio"] == 1 and knobs["1 thread"]["threads"] == 1 and "torch.compile" not in knobs
    assert knobs["LR patch 24"]["lr_mpixels_s"] == pytest.approx(knobs["LR patch 24"]["it_s"] * 32 * 24**2 / 1e6)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{render.START}\nold\n{render.END}\nrest\n")
    render.replace_section(readme, render.render(results))
    text = readme.read_text()
    assert "old" not in text and "| fsrcnn_x3 | 48x48 input |" in text and text.endswith(f"{render.END}\nrest\n")
    assert "| deconvolution as convolution + pixel shuffle | 32 x 16² |" in text


@pytest.mark.slow
def test_quick_run_times_the_tools(photos: Path, tmp_path: Path) -> None:
    output = tmp_path / "cpu.json"
    run.main(["--quick", "--eval-sets", str(photos), "--only", "tools", "--output", str(output)])
    tools = json.loads(output.read_text())["tools"]
    pixels = 3 * sum((90 // s * s) * (120 // s * s) for s in (2, 3, 4))  # 3 images at x2, x3, x4
    assert tools["eval"]["hr_megapixels"] == pytest.approx(pixels / 1e6)
    assert tools["eval"]["wall_s"] > 0 and tools["upscale"]["output_megapixels"] == pytest.approx(1024**2 / 1e6)
    folder = tools["upscale_folder"]
    assert folder["images"] == 3 and folder["overlapped_s"] > 0 and folder["sequential_s"] > 0
    text = render.render(json.loads(output.read_text()))
    assert "**eval.py**" in text and "**upscale.py on a folder**" in text


def test_gpu_modes_keep_shape_and_dtype_on_cpu() -> None:
    """The bf16 mode of a GPU run, exercised on the CPU: the shape and dtype it returns."""
    net = run.MODELS["espcn_x3"][0]().eval()
    x = torch.rand(1, 1, 16, 20)
    with torch.no_grad():
        out = run.bf16(net)(x)
    assert out.shape == (1, 1, 48, 60) and out.dtype == torch.bfloat16
    assert "cuda_graphs" not in run.modes(net, x, torch.device("cpu"), quick=True)
