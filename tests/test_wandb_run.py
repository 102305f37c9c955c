"""What a W&B dashboard shows of srlab's runs, read back from the offline run files (tests/wandb_files.py):
names and groups, the best-value summary, aligned steps, the per-image table, checkpoint artifacts, eval.py's
run, W&B artifact references for eval.py and upscale.py, and multiruns (one process and DDP)."""

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
import wandb
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict, read_write
from PIL import Image

from conftest import ROOT, compose_train, run_cli, tiny_overrides
from test_compare import captions
from srlab.callbacks.image_panels import TABLE_COLUMNS
from srlab.cli import tracking
from srlab.cli.evaluate import evaluate, summarise
from srlab.cli.train import train
from srlab.cli.upscale import upscale
from srlab.cli.zoo import main as zoo_main
from wandb_files import OfflineRun, logged_table, read_offline_run

SCALE = 2
RUN = ["model=espcn", f"data.scale={SCALE}", "trainer.log_every_n_steps=1", "logger=wandb"]
VALIDATIONS = {3, 7}  # Lightning's step of the validations after steps 4 and 8 (data.steps_per_epoch=4)


def md5_b64(path: Path) -> str:
    """The digest W&B gives a file in an artifact's manifest."""
    return base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()


def rows_with(run: OfflineRun, key: str) -> list[dict]:
    return [row for row in run.history if key in row]


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory) -> tuple[Path, dict[str, float], OfflineRun]:
    """One tiny ESPCN run with the default W&B logger (offline): its directory, metrics and W&B run."""
    out = tmp_path_factory.mktemp("wandb_run")
    metrics = train(compose_train([*tiny_overrides(tiny_data, out), *RUN], out / "run"))
    wandb.finish()  # as train.py does after train()
    wandb.teardown()  # waits for the W&B service to write the run's files
    return out / "run", metrics, read_offline_run(out / "run")


def test_a_single_run_is_named_by_model_and_scale(trained):
    _, _, run = trained
    assert run.run["name"] == f"espcn_x{SCALE}" and run.run["group"] == ""
    assert run.run["job_type"] == "train" and run.run["tags"] == ["dev"]
    assert run.exit_codes == [0]


def test_summary_holds_the_best_value_and_the_final_scores(trained):
    _, metrics, run = trained
    psnr = [row["val/psnr"] for row in rows_with(run, "val/psnr")]
    ssim = [row["val/ssim"] for row in rows_with(run, "val/ssim")]
    loss = [row["train/loss"] for row in rows_with(run, "train/loss")]
    assert len(psnr) == len(VALIDATIONS) and len(loss) == 8
    assert run.summary["val/psnr"] == {"max": pytest.approx(max(psnr))}
    assert run.summary["val/ssim"] == {"max": pytest.approx(max(ssim))}
    assert run.summary["train/loss"] == {"min": pytest.approx(min(loss))}
    assert max(psnr) != psnr[-1] or min(loss) != loss[-1]  # so the summary is not merely the last value
    # The final scoring of best.ckpt: in the summary as final/*, and no new point of the curves.
    for key, value in metrics.items():
        assert run.summary[f"final/{key}"] == pytest.approx(value, abs=1e-4), key
    assert metrics["val/psnr"] == pytest.approx(max(psnr), abs=1e-4)


def test_panels_and_metrics_share_their_steps(trained):
    _, _, run = trained
    metric_steps = {row["trainer/global_step"] for row in rows_with(run, "val/psnr")}
    assert metric_steps == VALIDATIONS
    for key in ("val/panels/tiny/0", "val/panels/tiny/1"):
        panels = [row for row in run.history if row.get(f"{key}/_type") == "images/separated"]
        assert [row["trainer/global_step"] for row in panels] == sorted(VALIDATIONS), key
        for row in panels:
            caption = row[f"{key}/captions"][0]
            assert caption.startswith(("img00: SR ", "img01: SR ")) and " dB, bicubic " in caption
            with Image.open(run.dir / "files" / row[f"{key}/filenames"][0]) as image:
                assert image.width == 4 * image.height  # LR | bicubic | SR | HR


def test_table_of_the_best_checkpoint_on_every_validation_image(trained, tiny_data):
    _, metrics, run = trained
    rows, artifact = logged_table(run, "final/per_image")
    assert list(rows[0]) == TABLE_COLUMNS
    assert sorted(r["image"] for r in rows) == sorted(p.stem for p in tiny_data["val"].glob("*.png"))
    assert {r["set"] for r in rows} == {"tiny"}
    assert sum(r["psnr"] for r in rows) / len(rows) == pytest.approx(metrics["val/psnr"], abs=1e-4)
    assert sum(r["ssim_bicubic"] for r in rows) / len(rows) == pytest.approx(metrics["val/ssim_bicubic"], abs=1e-5)
    for row in rows:
        cell = row["LR | bicubic | SR | HR"]
        assert cell["_type"] == "image-file"
        with Image.open(artifact.local[cell["path"]]) as image:
            assert image.size == (cell["width"], cell["height"]) and image.width == 4 * image.height


def test_best_and_last_checkpoints_are_model_artifacts(trained):
    run_dir, _, run = trained
    models = [a for a in run.artifacts if a.type == "model"]
    assert [a.name for a in models] == [f"model-{run.run['id']}"] * 2
    best, last = models  # best first, so `latest` ends on the newer version, last.ckpt
    assert "best" in best.aliases and best.metadata["file"] == "best.ckpt" and best.metadata["monitor"] == "val/psnr"
    assert last.aliases == ["latest"] and last.metadata["file"] == "last.ckpt" and last.metadata["step"] == 8
    for artifact, name in ((best, "best.ckpt"), (last, "last.ckpt")):  # the files themselves, not copies
        assert artifact.files == {"model.ckpt": md5_b64(run_dir / "checkpoints" / name)}
        assert artifact.local == {"model.ckpt": run_dir / "checkpoints" / name}
    assert best.metadata["net"]["_target_"] == "srlab.models.ESPCN"
    # The checkpoint names the run that wrote it, for eval.py and upscale.py.
    ckpt = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    assert ckpt["wandb"] == {"project": "srlab", "run_id": run.run["id"], "run_name": f"espcn_x{SCALE}",
                             "artifact": f"model-{run.run['id']}"}  # fmt: skip


def eval_config(tiny_data, out: Path, *overrides: str):
    base = ["data=folder", "data.train=[]", f"data.val={{tiny:[{tiny_data['val']}]}}", "data.num_workers=0",
            f"paths.log_dir={out}", f"paths.data_dir={out}/data"]  # fmt: skip
    return compose_train([*base, *overrides], out / "eval", "eval")


def test_eval_logs_config_checkpoint_means_table_and_saves_images(trained, tiny_data, tmp_path):
    run_dir, _, train_run = trained
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    rows = evaluate(eval_config(tiny_data, tmp_path, f"ckpt_path={ckpt}", "save_images=true"))
    wandb.teardown()
    run = read_offline_run(tmp_path / "eval")
    assert run.run["name"] == "eval-run_best" and run.run["job_type"] == "eval" and run.exit_codes == [0]
    assert run.config["ckpt_path"] == str(ckpt) and run.config["save_images"] is True
    record = run.config["checkpoint"]
    assert record["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert record["trained_by"]["run_id"] == train_run.run["id"]
    means = summarise(rows)
    assert run.summary[f"eval/tiny/x{SCALE}/psnr"] == pytest.approx(means[("ESPCN", SCALE, "tiny")][0])
    assert run.summary[f"eval/tiny/x{SCALE}/ssim_bicubic"] == pytest.approx(means[("Bicubic", SCALE, "tiny")][1])
    table, artifact = logged_table(run, "eval/per_image")
    assert [(r["method"], r["scale"]) for r in table] == [("ESPCN", SCALE)] * 3
    for row in table:
        with Image.open(artifact.local[row["LR | bicubic | SR | HR"]["path"]]) as image:
            assert image.width == 4 * image.height
    saved = tmp_path / "eval" / "images" / "ESPCN" / "tiny" / f"x{SCALE}"
    for image in tiny_data["val"].glob("*.png"):
        with Image.open(image) as hr, Image.open(saved / image.name) as sr:
            assert sr.size == (hr.width // SCALE * SCALE, hr.height // SCALE * SCALE) and sr.mode == hr.mode
    # srlab compare takes the checkpoint (scored as eval.py scored it) and the SR images eval.py saved of it
    # (8-bit RGB files, where the Y net was scored on its Y output: within rounding of the same figures)
    page = tmp_path / "compare.html"
    zoo_main(["compare", str(tiny_data["val"]), "--method", f"net={ckpt}", "--method", f"saved={saved}",
              "--region", "12", "--out", str(page)])  # fmt: skip
    found = captions(page.read_text())
    assert sorted(found) == sorted(r["image"] for r in rows if r["method"] == "ESPCN")
    for row in (r for r in rows if r["method"] == "ESPCN"):
        crops = found[row["image"]]
        assert [label for label, _ in crops] == ["LR (nearest)", "Bicubic", "net", "saved", "HR"]
        assert crops[2][1] == f"{row['psnr']:.2f} dB / {row['ssim']:.4f}"
        (net_psnr, net_ssim), (saved_psnr, saved_ssim) = [map(float, c[1].split(" dB / ")) for c in crops[2:4]]
        assert abs(saved_psnr - net_psnr) < 0.05 and abs(saved_ssim - net_ssim) < 1e-3


class FakeArtifact:
    """What `wandb.Api().artifact(...)` returns, for a checkpoint file on this machine."""

    def __init__(self, ckpt: Path) -> None:
        self.ckpt, self.qualified_name, self.type = ckpt, "me/srlab/model-abc123:v3", "model"

    def download(self, root: str) -> str:
        Path(root).mkdir(parents=True, exist_ok=True)
        shutil.copy(self.ckpt, Path(root) / "model.ckpt")
        return root


def test_eval_and_upscale_take_a_wandb_artifact_and_record_it(trained, tiny_data, tmp_path, monkeypatch):
    run_dir, _, _ = trained
    asked = []

    class Api:
        def artifact(self, name: str, type: str | None = None) -> FakeArtifact:
            asked.append((name, type))
            return FakeArtifact(run_dir / "checkpoints" / "best.ckpt")

    monkeypatch.setattr(wandb, "Api", Api)
    ref = "wandb:me/srlab/model-abc123:best"
    from_artifact = evaluate(eval_config(tiny_data, tmp_path / "a", f"ckpt_path={ref}"))
    from_file = evaluate(eval_config(tiny_data, tmp_path / "f", f"ckpt_path={run_dir}/checkpoints/best.ckpt"))
    assert from_artifact == from_file and asked == [("me/srlab/model-abc123:best", "model")]
    cfg = compose_train([f"ckpt_path={ref}", f"input={tiny_data['val']}", f"output={tmp_path}/sr", "logger=wandb",
                         f"paths.log_dir={tmp_path}"], tmp_path / "up", "upscale")  # fmt: skip
    assert len(upscale(cfg)) == 3
    wandb.teardown()
    for folder, job_type in ((tmp_path / "a" / "eval", "eval"), (tmp_path / "up", "upscale")):
        run = read_offline_run(folder)
        assert run.run["job_type"] == job_type and run.run["name"] == f"{job_type}-model-abc123:best"
        assert run.config["checkpoint"]["artifact"] == "me/srlab/model-abc123:v3"
        fetched = Path(run.config["checkpoint"]["path"])
        assert fetched.read_bytes() == (run_dir / "checkpoints" / "best.ckpt").read_bytes()
    assert read_offline_run(tmp_path / "up").summary["upscale/images"] == 3

    class Offline:
        def artifact(self, name: str, type: str | None = None) -> FakeArtifact:
            raise ConnectionError("no route to api.wandb.ai")

    monkeypatch.setattr(wandb, "Api", Offline)
    with pytest.raises(ValueError, match=r"ckpt_path=wandb:me/srlab/model-abc123:best: cannot fetch .*wandb login"):
        evaluate(eval_config(tiny_data, tmp_path / "x", f"ckpt_path={ref}", "logger=csv"))


# --- names and groups of multirun jobs ---------------------------------------------------------------


def test_a_multirun_job_is_named_by_what_its_sweep_varies(monkeypatch, tmp_path):
    """`run_name` and `run_group` in a multirun job, with the keys that `SweepSetup` noted for the sweep."""
    monkeypatch.setenv(tracking.SWEPT_ENV, "model,optimizer.lr,data.batch_size")
    overrides = ["model=fsrcnn", "data.scale=3", "optimizer.lr=1e-3", "data.batch_size=0.000123456", "seed=7"]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.mode = "MULTIRUN"
        cfg.hydra.sweep.dir = str(tmp_path / "train" / "multiruns" / "2026-01-02" / "03-04-05")
        cfg.hydra.runtime.output_dir = str(tmp_path / "job")
    HydraConfig.instance().set_config(cfg)
    # seed is no sweep key, and model and scale are in the name already; numbers are written briefly.
    assert cfg.logger.wandb.name == "fsrcnn_x3-lr=1e-3-batch_size=1.23e-4"
    assert cfg.logger.wandb.group == "train-2026-01-02_03-04-05"
    with read_write(cfg.hydra.sweeper), open_dict(cfg.hydra.sweeper):
        cfg.hydra.sweeper.study_name = "fsrcnn_x3"  # an Optuna study names its group
    HydraConfig.instance().set_config(cfg)
    assert cfg.logger.wandb.group == "fsrcnn_x3"


def test_an_experiment_names_the_run_and_gives_its_tags(tmp_path):
    """A run of an experiment is named after it, tagged with the experiment's tags and its name."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=zoo/fsrcnn_x3", "logger=wandb"], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(tmp_path / "run")
    HydraConfig.instance().set_config(cfg)
    assert cfg.logger.wandb.name == "zoo_fsrcnn_x3" and cfg.logger.wandb.group is None
    assert list(cfg.logger.wandb.tags) == ["zoo", "fsrcnn", "x3", "zoo/fsrcnn_x3"]


def sweep_jobs(log_dir: Path, task: str = "train") -> list[Path]:
    (sweep,) = (log_dir / task / "multiruns").glob("*/*")
    return sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())


def test_a_multirun_gives_each_job_its_named_run_in_one_group(tiny_data, tmp_path):
    run_cli("train.py", ["-m", *tiny_overrides(tiny_data, tmp_path), *RUN, "optimizer.lr=1e-3,3e-3"])
    jobs = sweep_jobs(tmp_path)
    runs = [read_offline_run(job) for job in jobs]
    date, time = jobs[0].parent.parts[-2:]
    assert [r.run["name"] for r in runs] == ["espcn_x2-lr=1e-3", "espcn_x2-lr=3e-3"]
    assert {r.run["group"] for r in runs} == {f"train-{date}_{time}"}
    for job, run in zip(jobs, runs, strict=True):
        assert run.exit_codes == [0] and run.summary["val/psnr"]["max"] > 0
        assert "best checkpoint:" in (job / "train.log").read_text()


@pytest.mark.slow
def test_ddp_multirun_keeps_one_run_per_job(tiny_data, tmp_path):
    """Two jobs of two CPU processes each: Lightning starts each job's second process with that job's
    overrides alone, so every job has its W&B run, and no process starts the multirun again."""
    ddp = ["trainer=ddp", "trainer.devices=2", "trainer.accelerator=cpu", "optimizer.lr=1e-3,3e-3"]
    run_cli("train.py", ["-m", *tiny_overrides(tiny_data, tmp_path), *RUN, *ddp], timeout=600)
    jobs = sweep_jobs(tmp_path)
    assert [job.name for job in jobs] == ["0", "1"]
    assert [p.name for p in (tmp_path / "train").iterdir()] == ["multiruns"]  # no run outside the sweep
    runs = [read_offline_run(job) for job in jobs]  # exactly one W&B run in each job's folder
    assert [r.run["name"] for r in runs] == ["espcn_x2-lr=1e-3", "espcn_x2-lr=3e-3"]
    assert len({r.run["group"] for r in runs}) == 1
    for job, run in zip(jobs, runs, strict=True):
        metrics = json.loads((job / "metrics.json").read_text())
        assert run.exit_codes == [0]
        assert run.summary["final/val/psnr"] == pytest.approx(metrics["val/psnr"], abs=1e-4)
        assert [a.aliases for a in run.artifacts if a.type == "model"][-1] == ["latest"]
        assert (job / "train.log").read_text().count("best checkpoint:") == 1  # rank 0's notice, once
