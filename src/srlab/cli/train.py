"""Training: compose data, model (system with net, loss, optimizer, scheduler), trainer and loggers."""

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf, read_write
from rich.table import Table

from srlab.callbacks.image_panels import TABLE_COLUMNS, ImagePanels
from srlab.cli.config import check_train_options, instantiate_all, log_hyperparameters, print_config_tree
from srlab.cli.logs import as_text
from srlab.cli.tracking import define_metrics, detached_loggers, log_final
from srlab.systems.checkpoint import read_checkpoint

log = logging.getLogger(__name__)
# What Lightning's DDP launcher sets in the environment of the process that starts the others.
DDP_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


def train(cfg: DictConfig) -> dict[str, float]:
    """Train (when the model has parameters and `cfg.train`), then score the best checkpoint.

    Returns the final validation metrics, also written to `metrics.json` in the run directory.
    """
    check_train_options(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    print_config_tree(cfg, save_to=output_dir)

    datamodule: L.LightningDataModule = instantiate(cfg.data)
    datamodule.will_test = bool(cfg.get("test"))  # so the test sets are checked before training
    model: L.LightningModule = instantiate(cfg.model)
    if "net" in cfg.model:  # lets eval.py and upscale.py rebuild the net from a checkpoint alone
        model.net_config = OmegaConf.to_container(cfg.model.net, resolve=True)
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=instantiate_all(cfg.get("callbacks")), logger=instantiate_all(cfg.get("logger"))
    )
    log_hyperparameters(cfg, model, trainer)
    sets = {"val": datamodule.val_names, "test": datamodule.test_names}
    define_metrics(trainer.loggers, ["val", "test", *(f"{split}/{n}" for split, names in sets.items() for n in names)])

    ckpt_path = cfg.get("ckpt_path")
    trainable = any(p.requires_grad for p in model.parameters())
    fit = bool(cfg.get("train")) and trainable
    if ckpt_path:
        check_checkpoint(ckpt_path, model, resume=fit)
    with as_single_run():
        if fit:
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
            # The best checkpoint; the last one when no validation came before max_steps.
            ckpt_path = next((cb.best_model_path for cb in trainer.checkpoint_callbacks if cb.best_model_path), None)
        with detached_loggers(trainer):  # the final scoring is no new point of the validation curves
            results = trainer.validate(model, datamodule=datamodule, ckpt_path=ckpt_path or None, weights_only=True)
        metrics = {k: float(v) for k, v in results[0].items()} if results else {}
        if cfg.get("test"):
            trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path or None, weights_only=True)
            metrics |= {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
    panels = next((cb for cb in trainer.callbacks if isinstance(cb, ImagePanels)), None)
    log_final(trainer.loggers, metrics, trainer.global_step, TABLE_COLUMNS, panels.final_rows if panels else [])
    report(metrics, ckpt_path, output_dir)
    return metrics


@contextmanager
def as_single_run() -> Iterator[None]:
    """Inside a multirun job, what DDP sees is a single run: Lightning's launcher starts the other processes
    with `sys.argv` and `hydra.run.dir`, which here become this job's overrides and directory (else each
    process would start the whole multirun again); and the next job starts its own processes, as the
    environment variables and the process group of this job's DDP are removed at its end."""
    hydra = HydraConfig.get() if HydraConfig.initialized() else None
    if hydra is None or hydra.mode != RunMode.MULTIRUN:
        yield
        return
    argv, run_dir, env = sys.argv, hydra.run.dir, {k: os.environ.get(k) for k in DDP_ENV}
    sys.argv = [argv[0], *hydra.overrides.task, "hydra.mode=RUN"]
    with read_write(hydra):
        hydra.run.dir = hydra.runtime.output_dir
    try:
        yield
    finally:
        sys.argv = argv
        with read_write(hydra):
            hydra.run.dir = run_dir
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def check_checkpoint(path: str, model: L.LightningModule, resume: bool) -> None:
    """Stop before training when `ckpt_path` is unreadable, is not a whole checkpoint of train.py, or holds
    another net than the one built now (another model, scale or size)."""
    ckpt = read_checkpoint(path, "ckpt_path")
    needed = ["pytorch-lightning_version", *(["optimizer_states", "loops"] if resume else [])]
    if missing := [key for key in needed if key not in ckpt]:
        raise ValueError(
            f"ckpt_path={path} has no {', '.join(missing)}: it is not a whole checkpoint of train.py "
            "(last.ckpt or best.ckpt), so it cannot resume a run"
        )
    then, now = ckpt.get("net_config"), getattr(model, "net_config", None)
    if then is not None and now is not None:
        keys = sorted(then.keys() | now.keys())
        changed = [f"{k}: {then.get(k)!r} then, {now.get(k)!r} now" for k in keys if then.get(k) != now.get(k)]
    else:  # no configs to compare: the first weight that differs
        saved = {k: tuple(v.shape) for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
        built = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("net.")}
        keys = [k for k in sorted(saved.keys() | built.keys()) if saved.get(k) != built.get(k)]
        changed = [f"{k}: {saved.get(k, 'absent')} then, {built.get(k, 'absent')} now" for k in keys[:1]]
    if changed:
        raise ValueError(
            f"ckpt_path={path} was written by another net ({'; '.join(changed)}): give the model and options "
            "of the run that wrote it, or leave ckpt_path out to start anew"
        )


@rank_zero_only
def report(metrics: dict[str, float], ckpt_path: str | None, output_dir: Path) -> None:
    """Log the checkpoint and its scores beside bicubic; save them as `metrics.json`."""
    with open(output_dir / "metrics.json", "w") as f:
        json.dump({"ckpt_path": ckpt_path, **metrics}, f, indent=2)
    table = Table(title="Validation of the best checkpoint" if ckpt_path else "Validation")
    for column in ("set", "model PSNR (dB)", "model SSIM", "bicubic PSNR (dB)", "bicubic SSIM"):
        table.add_column(column)
    prefixes = sorted({k.rsplit("/", 1)[0] for k in metrics if k.endswith("/psnr")})
    for prefix in prefixes:
        row = [metrics.get(f"{prefix}/{k}", float("nan")) for k in ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic")]
        table.add_row(prefix, f"{row[0]:.2f}", f"{row[1]:.4f}", f"{row[2]:.2f}", f"{row[3]:.4f}")
    log.info("%s", as_text(table))
    log.info("best checkpoint: %s", ckpt_path or "(none: nothing trained)")
    log.info("run directory: %s", output_dir)
