"""`hparams_search=`: Optuna sweeps over FSRCNN and ESPCN kept in sqlite (the `sweep` extra), and what a
multirun's jobs are told (`SweepSetup`)."""

import json
import os
from pathlib import Path

import optuna
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.types import RunMode
from omegaconf import OmegaConf

from conftest import ROOT, run_cli, tiny_overrides
from srlab.cli.tracking import SWEPT_ENV, SweepSetup


def composed(*overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


SEARCHES = [("fsrcnn_optuna", "fsrcnn", "model.net.d"), ("espcn_optuna", "espcn", "model.net.num_features")]


@pytest.mark.parametrize(("search", "model", "width"), SEARCHES)
def test_search_configs_maximise_the_best_psnr_in_sqlite(search, model, width, tmp_path):
    cfg = composed(f"hparams_search={search}", f"paths.log_dir={tmp_path}", "data.scale=4")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    assert cfg.hydra.mode == RunMode.MULTIRUN and cfg.optimized_metric == "val/psnr_best"
    assert cfg.hydra.runtime.choices.model == model and sweeper.direction == "maximize"
    assert sweeper.study_name == f"{model}_x4" and sweeper.storage == f"sqlite:///{tmp_path}/optuna/{model}_x4.db"
    assert set(sweeper.params) == {"optimizer.lr", "data.batch_size", width}
    # Every value of the space composes into a model of that width.
    values = sweeper.params[width].removeprefix("choice(").removesuffix(")").replace('"', "").split(", ")
    for value in values:
        net = composed(f"hparams_search={search}", f"{width}={value}").model.net
        assert OmegaConf.to_container(net)[width.rsplit(".", 1)[1]] == yaml.safe_load(value)


def test_sweep_setup_notes_the_swept_keys_and_makes_the_study_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(SWEPT_ENV, raising=False)
    cfg = composed("hparams_search=fsrcnn_optuna", f"paths.log_dir={tmp_path}/new")
    cfg.hydra.overrides.task = ["model=fsrcnn,espcn", "seed=1"]  # as on a multirun's command line
    SweepSetup().on_multirun_start(cfg)
    assert os.environ[SWEPT_ENV].split(",") == ["model", "optimizer.lr", "data.batch_size", "model.net.d"]
    assert (tmp_path / "new" / "optuna").is_dir()  # sqlite makes the file, not its folder


def sweep_jobs(log_dir: Path) -> tuple[Path, list[Path]]:
    (sweep,) = (log_dir / "train" / "multiruns").glob("*/*")
    return sweep, sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())


def test_two_trial_optuna_sweep_writes_its_study_returns_the_best_and_resumes(tiny_data, tmp_path):
    fixed = [o for o in tiny_overrides(tiny_data, tmp_path) if not o.startswith("data.batch_size=")]  # searched
    args = ["hparams_search=fsrcnn_optuna", "hydra.sweeper.n_trials=2", "data.scale=2", *fixed]
    run_cli("train.py", args)
    storage = f"sqlite:///{tmp_path}/optuna/fsrcnn_x2.db"
    study = optuna.load_study(study_name="fsrcnn_x2", storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    sweep, jobs = sweep_jobs(tmp_path)
    # Each trial's value is what its job returned: the best validation PSNR of its run.
    best = [json.loads((job / "metrics.json").read_text())["val/psnr_best"] for job in jobs]
    assert sorted(t.value for t in study.trials) == pytest.approx(sorted(best))
    assert study.best_value == pytest.approx(max(best))
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(study.best_value)
    assert results["best_params"] == study.best_params and set(study.best_params) == {
        "optimizer.lr", "data.batch_size", "model.net.d"}  # fmt: skip
    # The same command again continues the study.
    run_cli("train.py", [*args, "hydra.sweeper.n_trials=1"])
    assert len(optuna.load_study(study_name="fsrcnn_x2", storage=storage).trials) == 3
