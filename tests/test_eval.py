"""`eval.py`: the paper table for bicubic and for a trained checkpoint, its files, and its errors."""

import csv
import json

import pytest
import torch

from conftest import compose_train, photo_crops, run_cli, tiny_overrides, write_images
from srlab.cli.evaluate import evaluate, markdown_table, summarise
from srlab.cli.train import train
from srlab.data.images import list_images, read_image
from srlab.metrics.quality import image_quality
from srlab.ops import imresize


def eval_overrides(tiny_data, out) -> list[str]:
    return [
        "data=folder", "data.train=[]", f"data.val={{tiny:[{tiny_data['val']}],again:[{tiny_data['val']}]}}",
        "data.num_workers=0", "logger=csv", f"paths.log_dir={out}", f"paths.data_dir={out}/data",
    ]  # fmt: skip


def test_bicubic_table_files_and_values(tiny_data, tmp_path):
    cfg = compose_train([*eval_overrides(tiny_data, tmp_path), "model=bicubic"], tmp_path / "run", "eval")
    rows = evaluate(cfg)
    assert {(r["method"], r["scale"]) for r in rows} == {("Bicubic", s) for s in (2, 3, 4)}
    assert len(rows) == 3 * 2 * 3  # scales x sets x images
    # One image scored by hand: MATLAB bicubic down and up, the protocol's Y PSNR.
    img, grey = read_image(list_images([tiny_data["val"]])[0])
    hr = torch.from_numpy(img[:60, :72].copy()).permute(2, 0, 1)[None].float() / 255  # 61x73 cropped to x3
    bicubic = imresize(imresize(hr, 1 / 3, uint8=True), 3).clamp(0, 1)
    psnr, ssim = image_quality(bicubic, hr, torch.tensor([grey]), border=3)
    (row,) = [r for r in rows if r["scale"] == 3 and r["set"] == "tiny" and r["image"] == "img00"]
    assert row["psnr"] == pytest.approx(psnr.item()) and row["ssim"] == pytest.approx(ssim.item())

    table = (tmp_path / "run" / "results.md").read_text()
    assert table.splitlines()[0] == "| Method | Scale | tiny | again |" and "| Bicubic | x3 |" in table
    assert table.strip() == markdown_table(rows)
    summary = list(csv.DictReader((tmp_path / "run" / "results.csv").read_text().splitlines()))
    means = summarise(rows)
    for line in summary:
        assert float(line["psnr"]) == pytest.approx(means[(line["method"], int(line["scale"]), line["set"])][0], abs=1e-4)
    assert len(list(csv.DictReader((tmp_path / "run" / "per_image.csv").read_text().splitlines()))) == len(rows)


def test_checkpoint_rows_self_ensemble_and_errors(tiny_data, tmp_path):
    train(compose_train([*tiny_overrides(tiny_data, tmp_path), "model=fsrcnn", "data.scale=2"], tmp_path / "train"))
    ckpt = tmp_path / "train" / "checkpoints" / "best.ckpt"
    cfg = compose_train([*eval_overrides(tiny_data, tmp_path), f"ckpt_path={ckpt}", "self_ensemble=true"],
                        tmp_path / "run", "eval")  # fmt: skip
    rows = evaluate(cfg)
    assert {r["method"] for r in rows} == {"Bicubic", "FSRCNN", "FSRCNN+"} and {r["scale"] for r in rows} == {2}
    means = summarise(rows)
    assert means[("FSRCNN", 2, "tiny")] != means[("FSRCNN+", 2, "tiny")]
    assert means[("FSRCNN", 2, "tiny")] == means[("FSRCNN", 2, "again")]  # the same images, the same scores
    # The checkpoint's own validation of the same images agrees with eval.py.
    metrics = json.loads((tmp_path / "train" / "metrics.json").read_text())
    assert means[("FSRCNN", 2, "tiny")][0] == pytest.approx(metrics["val/psnr"], abs=1e-3)
    assert means[("Bicubic", 2, "tiny")][1] == pytest.approx(metrics["val/ssim_bicubic"], abs=1e-5)

    with pytest.raises(ValueError, match=r"ckpt_path=.*best.ckpt, scales=\[3\]: FSRCNN built at x2 cannot produce x3"):
        evaluate(compose_train([*eval_overrides(tiny_data, tmp_path), f"ckpt_path={ckpt}", "scales=[3]"],
                               tmp_path / "run2", "eval"))  # fmt: skip
    with pytest.raises(ValueError, match="model=FSRCNN has weights: give ckpt_path"):
        evaluate(compose_train([*eval_overrides(tiny_data, tmp_path), "model=fsrcnn"], tmp_path / "run3", "eval"))


def test_eval_cli(tiny_data, tmp_path):
    proc = run_cli("eval.py", [*eval_overrides(tiny_data, tmp_path), "scales=[4]"])
    assert "| Bicubic | x4 |" in proc.stdout
    (log,) = (tmp_path / "eval").glob("*/*/eval.log")
    assert "| Bicubic | x4 |" in log.read_text()


def test_eval_logs_a_wandb_table(tiny_data, tmp_path):
    cfg = compose_train([*eval_overrides(tiny_data, tmp_path), "logger=wandb", "scales=[2]"], tmp_path / "run", "eval")
    rows = evaluate(cfg)
    (table,) = (tmp_path / "run" / "wandb").glob("offline-run-*/files/media/table/eval/per_image_*.table.json")
    logged = json.loads(table.read_text())
    assert logged["columns"][:6] == ["method", "set", "scale", "image", "psnr", "ssim"]
    assert len(logged["data"]) == len(rows) == 2 * 3  # model=bicubic: its own rows, for both sets


def test_data_set_config_with_its_folders_present(tmp_path):
    """`data=set5` reads ${paths.data_dir}/Set5; when the folder is there nothing is fetched."""
    write_images(tmp_path / "data" / "Set5", photo_crops([(48, 40)] * 5, seed=5))  # Set5 must hold its 5 images
    overrides = ["data=set5", "logger=csv", f"paths.data_dir={tmp_path}/data", f"paths.log_dir={tmp_path}", "scales=[2]"]
    rows = evaluate(compose_train(overrides, tmp_path / "run", "eval"))
    assert {r["set"] for r in rows} == {"set5"} and len(rows) == 5
