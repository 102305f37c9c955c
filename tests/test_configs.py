"""Every option of every config group composes and builds its objects; the CLI prints and saves the config."""

import re
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from conftest import ROOT, compose_train, random_vgg, run_cli, tiny_overrides
from srlab.cli.config import instantiate_all

CONF = ROOT / "conf"
# Every group folder but hydra/, Hydra's own settings (run directories, job logging).
OPTIONS = [
    (folder.name, path.stem)
    for folder in sorted(p for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")
    for path in sorted(folder.glob("*.yaml"))
    if not path.stem.startswith("_")  # shared bases such as model/_sr_system
]
MODELS = [option for group, option in OPTIONS if group == "model"]
# What an option needs besides the tiny run's overrides.
NEEDS = {
    ("optimizer", "sgd_srcnn"): ["model=srcnn"],  # its parameter group names SRCNN's `reconstruction`
    ("trainer", "ddp"): ["trainer.accelerator=cpu"],  # 2 CPU processes, on any machine
}
FOLDER_KEYS = ("data.train", "data.val")


def option_overrides(group: str, option: str, tiny_data: dict[str, Path], out: Path) -> list[str]:
    """The tiny run's overrides with `group=option` and what it needs.

    A data option keeps its own folders: the tiny ones fill only those it leaves mandatory (`???`).
    A model option runs at a scale it supports; a trainer option keeps its own accelerator.
    """
    overrides = tiny_overrides(tiny_data, out)
    if group == "data":
        folders = {o.split("=", 1)[0]: o for o in overrides if o.startswith(FOLDER_KEYS)}
        overrides = [o for o in overrides if o.split("=", 1)[0] not in {"data", *folders}]
        missing = OmegaConf.missing_keys(compose_train([*overrides, f"data={option}"], out / "run").data)
        overrides += [folders[key] for key in sorted(missing)]
    elif group == "model":  # at a scale the net supports (SRResNet: 2 and 4)
        cfg = compose_train([*overrides, f"model={option}"], out / "run")
        scales = get_class(cfg.model.net._target_).build_scales
        if scales and cfg.data.scale not in scales:
            overrides.append(f"data.scale={scales[0]}")
    elif group == "trainer":
        overrides = [o for o in overrides if not o.startswith("trainer.accelerator=")]
    overrides = [*overrides, f"{group}={option}", *NEEDS.get((group, option), [])]
    return overrides + random_vgg(compose_train(overrides, out / "run"))  # VGG losses: never download in tests


def entries(group: DictConfig | None) -> int:
    """How many objects a `callbacks` or `logger` group names (its non-null entries)."""
    return sum(value is not None for value in (group or {}).values())


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_option_composes_and_instantiates(group, option, tiny_data, tmp_path):
    cfg = compose_train(option_overrides(group, option, tiny_data, tmp_path), tmp_path / "run")
    OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)  # every value resolves

    datamodule = instantiate(cfg.data)
    system = instantiate(cfg.model)
    assert isinstance(datamodule, L.LightningDataModule) and isinstance(system, L.LightningModule)
    assert system.scale == system.net.scale == datamodule.scale == cfg.data.scale  # one source of scale

    loss = instantiate(cfg.loss)(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))  # VGG: RGB, 32 px for pool5
    assert loss.ndim == 0 and torch.isfinite(loss)
    if any(p.requires_grad for p in system.net.parameters()):  # bicubic has nothing to optimise
        optimizer = instantiate(cfg.optimizer)(system.net)
        assert isinstance(optimizer, Optimizer)
        if cfg.scheduler is not None:
            assert isinstance(instantiate(cfg.scheduler)(optimizer), LRScheduler)

    callbacks, loggers = instantiate_all(cfg.get("callbacks")), instantiate_all(cfg.get("logger"))
    assert len(callbacks) == entries(cfg.get("callbacks")) and all(isinstance(c, L.Callback) for c in callbacks)
    assert len(loggers) == entries(cfg.get("logger")) and all(isinstance(lg, Logger) for lg in loggers)

    if cfg.trainer.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        with pytest.raises(InstantiationException) as failure:
            instantiate(cfg.trainer, callbacks=callbacks, logger=False)
        assert isinstance(failure.value.__cause__, MisconfigurationException)
        return
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=False)
    assert isinstance(trainer, L.Trainer) and trainer.default_root_dir == str(tmp_path / "run")
    assert all(c in trainer.callbacks for c in callbacks)


@pytest.mark.parametrize("model", MODELS)
def test_scale_comes_from_data(model, tiny_data, tmp_path):
    cfg = compose_train([*tiny_overrides(tiny_data, tmp_path), f"model={model}", "data.scale=4"], tmp_path / "run")
    assert cfg.model.net.scale == 4
    assert instantiate(cfg.model).net.scale == instantiate(cfg.data).scale == 4


def test_cli_prints_and_saves_config(tiny_data, tmp_path):
    proc = run_cli("train.py", [*tiny_overrides(tiny_data, tmp_path), "trainer.max_steps=2"])
    (run_dir,) = (tmp_path / "train").glob("*/*")  # paths.log_dir/<task_name>/<date>/<time>
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}", run_dir.relative_to(tmp_path / "train").as_posix())

    saved = OmegaConf.load(run_dir / ".hydra" / "config.yaml")  # Hydra's own copy, with the overrides
    assert saved.data.train == [str(tiny_data["train"])] and saved.trainer.max_steps == 2
    tree = (run_dir / "config_tree.log").read_text()
    assert "CONFIG" in proc.stdout and "CONFIG" in tree  # the tree, printed at start and saved
    for target in (saved.model._target_, saved.model.net._target_):
        assert target in proc.stdout and target in tree
    assert (run_dir / "metrics.json").exists()
