"""What a W&B dashboard shows of a run: its name, group and tags (resolvers used by conf/logger/wandb.yaml),
the summary of each metric, the final scores and the per-image table.

    ${srlab.run_name:}    train: the experiment, else <model>_x<scale>; eval/upscale: eval-<checkpoint>;
                          a multirun job adds the overrides that its sweep varies, e.g. fsrcnn_x3-lr=1e-3
    ${srlab.run_group:}   a multirun or sweep: one group for all its jobs (the Optuna study, else
                          <task>-<date>_<time> of the sweep); a single run: none
    ${srlab.run_tags:}    the config's `tags` (an experiment's own) and the experiment's name
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from lightning.pytorch.loggers import Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

SWEPT_ENV = "SRLAB_SWEPT"  # the keys a multirun varies, set by `SweepSetup` for its jobs
IN_BASE_NAME = {"model", "data.scale", "experiment"}  # already in the name's first part
STEP = "trainer/global_step"  # Lightning's x-axis in W&B


class SweepSetup(Callback):
    """Hydra callback, before a multirun's sweeper starts: notes the keys it varies (the command line's sweep
    overrides, such as `model=srcnn,fsrcnn`, and the sweeper's `params`, such as an Optuna search space) in
    the environment, which every job inherits, on this machine or through a launcher; and makes the folder
    of a sweeper's sqlite storage (an Optuna study), which sqlite does not."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        overrides = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
        keys = [o.key_or_group for o in overrides if o.is_sweep_override()]
        keys += list(OmegaConf.select(config, "hydra.sweeper.params", default=None) or {})
        os.environ[SWEPT_ENV] = ",".join(dict.fromkeys(keys))
        storage = str(OmegaConf.select(config, "hydra.sweeper.storage", default=None) or "")
        if storage.startswith("sqlite:///"):
            Path(storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _hydra() -> DictConfig | None:
    return HydraConfig.get() if HydraConfig.initialized() else None


def _multirun(hydra: DictConfig | None) -> bool:
    return hydra is not None and hydra.mode == RunMode.MULTIRUN


def _short(value: str) -> str:
    """A number as briefly as 3 significant digits allow: 0.001 -> 1e-3, 0.000123456 -> 1.23e-4, 0.5 -> 0.5."""
    try:
        x = float(value)
    except ValueError:
        return value
    if re.fullmatch(r"[-+]?\d+", value):
        return value
    mantissa, _, exponent = f"{x:.2e}".partition("e")
    return min(f"{x:.3g}", f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}", key=len)


def _checkpoint_label(cfg: DictConfig) -> str:
    if cfg.get("pretrained"):
        return str(cfg.pretrained)
    ckpt, hydra = cfg.get("ckpt_path"), _hydra()
    if not ckpt:
        return str((hydra.runtime.choices.get("model") if hydra is not None else None) or "none")
    if str(ckpt).startswith("wandb:"):
        return str(ckpt).rsplit("/", 1)[-1]
    path = Path(str(ckpt))
    run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return f"{run_dir.name}_{path.stem}"  # e.g. 14-03-07_best of logs/train/<date>/14-03-07/checkpoints/


def run_name(_root_: DictConfig) -> str:
    hydra, task = _hydra(), str(_root_.get("task_name", "train"))
    choices = hydra.runtime.choices if hydra is not None else {}
    if task in ("eval", "upscale"):
        name = f"{task}-{_checkpoint_label(_root_)}"
    elif choices.get("experiment"):
        name = str(choices["experiment"]).replace("/", "_")
    else:
        scale = OmegaConf.select(_root_, "data.scale", default=None)
        name = f"{choices.get('model') or task}" + (f"_x{scale}" if scale is not None else "")
    if _multirun(hydra):
        swept = set(filter(None, os.environ.get(SWEPT_ENV, "").split(",")))
        for override in OverridesParser.create().parse_overrides(list(hydra.overrides.task)):
            key = override.key_or_group
            if key in swept and key not in IN_BASE_NAME:
                name += f"-{key.rsplit('.', 1)[-1]}={_short(override.get_value_element_as_str())}"
    return name


def run_group(_root_: DictConfig) -> str | None:
    hydra = _hydra()
    if not _multirun(hydra):
        return None
    study = OmegaConf.select(hydra, "sweeper.study_name", default=None)
    if study:
        return str(study)
    sweep_dir = Path(str(hydra.sweep.dir))
    return f"{_root_.get('task_name', 'train')}-{'_'.join(sweep_dir.parts[-2:])}"


def run_tags(_root_: DictConfig) -> list[str]:
    hydra = _hydra()
    experiment = hydra.runtime.choices.get("experiment") if hydra is not None else None
    return list(dict.fromkeys([*map(str, _root_.get("tags") or []), *([str(experiment)] if experiment else [])]))


for _name, _fn in (("srlab.run_name", run_name), ("srlab.run_group", run_group), ("srlab.run_tags", run_tags)):
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _fn)


def wandb_loggers(loggers: list[Logger]) -> list[WandbLogger]:
    return [logger for logger in loggers if isinstance(logger, WandbLogger)]


# Each metric by its name: W&B matches a glob (`val/psnr*`) or Lightning's `*` in no fixed order.
BEST = {"psnr": "max", "ssim": "max", "psnr_bicubic": "max", "ssim_bicubic": "max", "psnr_best": "max", "lpips": "min"}
LOSSES = ["loss", "loss_g", "loss_d", "loss_content", "loss_adv"]


@rank_zero_only
def define_metrics(loggers: list[Logger], prefixes: list[str]) -> None:
    """The summary of each metric in W&B: the best value (max PSNR and SSIM, min losses and LPIPS), not the
    last, for the metrics under each of `prefixes` (e.g. `val`, `val/set5`), on Lightning's step axis."""
    for logger in wandb_loggers(loggers):
        names = [(f"train/{k}", "min") for k in LOSSES]
        names += [(f"{prefix}/{k}", best) for prefix in dict.fromkeys(prefixes) for k, best in BEST.items()]
        for name, best in names:
            logger.experiment.define_metric(name, step_metric=STEP, summary=best)


@contextmanager
def detached_loggers(trainer: L.Trainer) -> Iterator[None]:
    """No logger sees what runs inside (the final scoring: it is no new point of the training curves)."""
    loggers, trainer.loggers = trainer.loggers, []
    try:
        yield
    finally:
        trainer.loggers = loggers


@rank_zero_only
def log_final(
    loggers: list[Logger], metrics: dict[str, float], step: int, columns: list[str], rows: list[list]
) -> None:
    """The final scores as `final/<metric>` (in W&B's summary; a last point elsewhere), and W&B's
    per-image table `final/per_image` (`rows` of `columns`; numpy images become W&B images)."""
    final = {f"final/{k}": v for k, v in metrics.items()}
    for logger in loggers:
        if not isinstance(logger, WandbLogger):
            logger.log_metrics(final, step=step)
            logger.save()  # after the fit, which saved and finalized the loggers
            continue
        import wandb

        logger.experiment.summary.update(final)
        if rows:
            data = [[wandb.Image(v) if hasattr(v, "shape") else v for v in row] for row in rows]
            logger.log_table("final/per_image", columns=columns, data=data, step=step)
