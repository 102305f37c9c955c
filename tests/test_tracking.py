"""Experiment tracking, read back from disk: the W&B offline run, CSV and TensorBoard logs, the image
panels, and a bf16 mixed-precision run."""

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import wandb
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from conftest import compose_train, tiny_overrides
from srlab.callbacks.image_panels import panel
from srlab.cli.train import train
from srlab.data.degradation import degrade
from srlab.ops import imresize
from srlab.systems import SRSystem
from wandb_files import read_offline_run

SCALE = 2
# The fastest net; train/loss logged at every step, since a tiny run is shorter than log_every_n_steps.
RUN = ["model=espcn", f"data.scale={SCALE}", "trainer.log_every_n_steps=1"]
PANEL_KEYS = {"val/panels/tiny/0", "val/panels/tiny/1"}  # callbacks.image_panels.num_images=2


def compose(tiny_data: dict[str, Path], out: Path, *overrides: str) -> DictConfig:
    """The tiny run's config with `overrides`, run directory `out/run`."""
    return compose_train([*tiny_overrides(tiny_data, out), *RUN, *overrides], out / "run")


def train_run(cfg: DictConfig) -> tuple[Path, dict[str, float]]:
    """Train in-process; return the run directory and the scores saved in its metrics.json."""
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    saved = json.loads((run_dir / "metrics.json").read_text())
    saved.pop("ckpt_path")
    return run_dir, saved


def csv_rows(run_dir: Path) -> list[dict[str, str]]:
    """The rows of the CSV logger's metrics.csv."""
    with open(run_dir / "csv" / "version_0" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def column(rows: list[dict[str, str]], name: str) -> list[float]:
    """The non-empty values of one metrics.csv column."""
    return [float(r[name]) for r in rows if r.get(name)]


def assert_panel_png(image: Image.Image) -> None:
    """An LR | bicubic | SR | HR panel: an RGB image four square crops wide."""
    assert image.mode == "RGB"
    assert image.width == 4 * image.height, image.size


# --- tests -----------------------------------------------------------------------------------------


def test_wandb_offline_run_reads_back(tiny_data, tmp_path):
    cfg = compose(tiny_data, tmp_path, "logger=wandb")
    assert cfg.logger.wandb.offline is True  # the default never reaches a server
    run_dir, metrics = train_run(cfg)
    # wandb.finish() (train.py calls it after train()) can return before the W&B service has written
    # the log; teardown stops the service and waits for it.
    wandb.finish()
    wandb.teardown()
    run = read_offline_run(run_dir)
    assert run.exit_codes == [0]

    # Summary: the final scoring of the best checkpoint (metrics.json) as final/<metric>; the best
    # validation PSNR as val/psnr's summary, which the final scoring matches.
    assert {"val/psnr", "val/ssim", "val/psnr_bicubic", "val/psnr_best"} <= metrics.keys()
    for key, value in metrics.items():
        assert run.summary[f"final/{key}"] == pytest.approx(value, abs=1e-4), key
    assert run.summary["val/psnr"]["max"] == pytest.approx(metrics["val/psnr"], abs=1e-4)
    assert math.isfinite(run.summary["train/loss"]["min"])

    # Config: the composed config, resolved, and the model size.
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert run.config["model"]["net"]["_target_"] == "srlab.models.ESPCN"
    assert run.config["data"]["scale"] == SCALE
    for key, value in resolved.items():
        assert run.config[key] == value, key
    net = instantiate(cfg.model.net)
    assert run.config["model/params/total"] == sum(p.numel() for p in net.parameters()) > 0
    assert run.config["model/params/trainable"] == run.config["model/params/total"]

    # Image panels: every logged file is on disk and decodes to a bicubic | SR | HR panel.
    files = run.dir / "files"
    logged = [(k.removesuffix("/_type"), row) for row in run.history for k, v in row.items() if v == "images/separated"]
    assert {key for key, _ in logged} == PANEL_KEYS
    for key, row in logged:
        assert row[f"{key}/captions"][0].endswith("dB (LR | bicubic | SR | HR)")
        (name,) = row[f"{key}/filenames"]
        with Image.open(files / name) as image:
            assert image.size == (row[f"{key}/width"], row[f"{key}/height"])
            assert_panel_png(image)
    on_disk = {p.relative_to(files).as_posix() for p in (files / "media" / "images").rglob("*.png")}
    assert on_disk == {row[f"{key}/filenames"][0] for key, row in logged}


@pytest.fixture(scope="module")
def csv_run(tiny_data, tmp_path_factory) -> tuple[Path, dict[str, float]]:
    """One run with logger=csv (no logger that shows images), shared by the CSV and panel tests."""
    return train_run(compose(tiny_data, tmp_path_factory.mktemp("csv_run")))


def test_csv_logger_writes_metrics(csv_run):
    run_dir, metrics = csv_run
    rows = csv_rows(run_dir)
    assert {"val/psnr", "train/loss"} <= rows[0].keys()
    losses = column(rows, "train/loss")
    assert len(losses) == 8 and all(map(math.isfinite, losses))  # trainer.max_steps=8, logged every step
    assert column(rows, "final/val/psnr") == [pytest.approx(metrics["val/psnr"], abs=1e-4)]


def test_tensorboard_logger_reads_back(tiny_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import IMAGES, EventAccumulator

    run_dir, metrics = train_run(compose(tiny_data, tmp_path, "logger=tensorboard"))
    (folder,) = {p.parent for p in (run_dir / "tensorboard").rglob("events.out.tfevents.*")}
    events = EventAccumulator(str(folder), size_guidance={IMAGES: 0}).Reload()
    assert {"val/psnr", "train/loss"} <= set(events.Tags()["scalars"])
    assert events.Scalars("final/val/psnr")[-1].value == pytest.approx(metrics["val/psnr"], abs=1e-4)
    assert set(events.Tags()["images"]) == PANEL_KEYS
    for key in PANEL_KEYS:
        for event in events.Images(key):
            with Image.open(io.BytesIO(event.encoded_image_string)) as image:
                assert image.size == (event.width, event.height)
                assert_panel_png(image)


def test_panels_written_as_png_without_image_logger(csv_run, tiny_data):
    run_dir, _ = csv_run
    pngs = sorted((run_dir / "panels" / "tiny").glob("*.png"))
    assert {p.name.split("_step")[0] for p in pngs} == {"img00", "img01"}  # the first num_images=2 images
    for path in pngs:
        with Image.open(path) as image:
            assert_panel_png(image)

    # img00's panel: LR (nearest) | bicubic | SR | HR centre crops; bicubic is the upscaling of the LR.
    hr = np.asarray(Image.open(tiny_data["val"] / "img00.png").convert("RGB"))
    hr = hr[: hr.shape[0] - hr.shape[0] % SCALE, : hr.shape[1] - hr.shape[1] % SCALE]
    image = np.asarray(Image.open(next(p for p in pngs if p.name.startswith("img00"))))
    size = image.shape[0]
    assert size == min(128, *hr.shape[:2])  # callbacks.image_panels.crop_size=128, clipped to the image
    top, left = (hr.shape[0] - size) // 2, (hr.shape[1] - size) // 2
    hr_crop = hr[top : top + size, left : left + size]
    np.testing.assert_array_equal(image[:, 3 * size :], hr_crop)
    hr_t = torch.from_numpy(hr).permute(2, 0, 1)[None].float() / 255
    bicubic = imresize(degrade(hr_t, SCALE), SCALE).clamp(0, 1)[0, :, top : top + size, left : left + size]
    bicubic = bicubic.mul(255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(image[:, size : 2 * size].astype(int) - bicubic).max() <= 1
    assert not np.array_equal(image[:, size : 2 * size], hr_crop)
    lr = degrade(hr_t, SCALE).mul(255).round().byte()[0].permute(1, 2, 0).numpy()
    nearest = lr.repeat(SCALE, axis=0).repeat(SCALE, axis=1)[top : top + size, left : left + size]
    np.testing.assert_array_equal(image[:, :size], nearest)


def test_panel_is_centre_crops_side_by_side():
    """Only a centred `size` x `size` square of each input is non-zero: an off-centre crop shows zeros."""
    h, w, size, top, left = 11, 14, 4, 3, 5

    def marked(levels: tuple[int, int, int]) -> torch.Tensor:
        x = torch.zeros(3, h, w)
        x[:, top : top + size, left : left + size] = torch.tensor(levels).view(3, 1, 1) / 255
        return x

    out = panel(marked((10, 20, 30)), marked((100, 110, 300)), marked((200, 210, 220)), size=size)
    assert out.shape == (size, 3 * size, 3) and out.dtype == np.uint8
    for third, levels in enumerate([(10, 20, 30), (100, 110, 255), (200, 210, 220)]):  # SR's 300 clamped
        assert (out[:, third * size : (third + 1) * size] == np.array(levels, dtype=np.uint8)).all(), third
    # A crop larger than the image is clipped to its shorter side.
    assert panel(marked((1, 1, 1)), marked((2, 2, 2)), marked((3, 3, 3)), size=128).shape == (h, 3 * h, 3)


def test_bf16_mixed_precision_on_cpu(tiny_data, tmp_path, monkeypatch):
    autocast: list[torch.dtype | None] = []
    training_step = SRSystem.training_step

    def spy(self: SRSystem, batch: dict, batch_idx: int) -> torch.Tensor:
        autocast.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
        return training_step(self, batch, batch_idx)

    monkeypatch.setattr(SRSystem, "training_step", spy)
    cfg = compose(tiny_data, tmp_path, "trainer.precision=bf16-mixed", "trainer.max_steps=4", "data.steps_per_epoch=2")
    run_dir, metrics = train_run(cfg)
    assert autocast == [torch.bfloat16] * 4  # every training step ran under bf16 autocast
    assert math.isfinite(metrics["val/psnr"]) and math.isfinite(metrics["val/ssim"])
    assert all(map(math.isfinite, column(csv_rows(run_dir), "train/loss")))
    state = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert {v.dtype for k, v in state.items() if k.startswith("net.")} == {torch.float32}  # fp32 master weights
