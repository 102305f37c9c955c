"""Helpers for composed configs: checking values, the printed tree, instantiating lists of objects, logging them."""

from collections.abc import Callable
from numbers import Real
from pathlib import Path

import lightning as L
import rich
import rich.syntax
import rich.tree
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

# The configs of the package: `srlab/conf`, a link to the repository's conf/ that a wheel ships as files.
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def _whole(v: object, least: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= least


def _number(v: object) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and v >= 0


# Options read by objects that are not srlab's (the Lightning Trainer, torch optimizers), checked before them.
TRAIN_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "trainer.max_steps": (
        lambda v: v == -1 or _whole(v, 1),
        "a positive number of optimizer steps, e.g. trainer.max_steps=4000 (-1: none, then trainer.max_epochs)",
    ),
    "trainer.max_epochs": (lambda v: v is None or v == -1 or _whole(v, 1), "a positive integer, -1 or null"),
    "trainer.log_every_n_steps": (lambda v: _whole(v, 1), "a positive integer, e.g. trainer.log_every_n_steps=20"),
    "trainer.check_val_every_n_epoch": (lambda v: v is None or _whole(v, 1), "a positive integer or null"),
    "trainer.accumulate_grad_batches": (lambda v: _whole(v, 1), "a positive integer"),
    "trainer.num_sanity_val_steps": (lambda v: _whole(v, -1), "0, a positive integer or -1 (all)"),
    "trainer.gradient_clip_val": (lambda v: v is None or _number(v), "null or a positive number"),
    "optimizer.lr": (_number, "a positive number, e.g. optimizer.lr=1e-4"),
    "seed": (lambda v: v is None or _whole(v, 0), "null or an integer from 0"),
}


def check_train_options(cfg: DictConfig) -> None:
    """Name the first option of `TRAIN_RULES` whose value is wrong (data options are checked by the data module)."""
    for key, (valid, expected) in TRAIN_RULES.items():
        parent, _, name = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if isinstance(node, DictConfig) and name in node and not valid(node[name]):
            raise ValueError(f"{key} must be {expected}; got {node[name]!r}")


TREE_ORDER = ("data", "model", "loss", "optimizer", "scheduler", "trainer", "callbacks", "logger", "paths")


@rank_zero_only
def print_config_tree(cfg: DictConfig, save_to: Path | None = None) -> None:
    """Print the composed config as a tree, and save it as `config_tree.log` in `save_to`."""
    tree = rich.tree.Tree("CONFIG", style="dim", guide_style="dim")
    keys = [k for k in TREE_ORDER if k in cfg] + [k for k in cfg if k not in TREE_ORDER]
    for key in keys:
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        tree.add(key, style="bold").add(rich.syntax.Syntax(text, "yaml"))
    rich.print(tree)
    if save_to is not None:
        with open(Path(save_to) / "config_tree.log", "w") as f:
            rich.print(tree, file=f)


def instantiate_all(cfg: DictConfig | None) -> list:
    """Instantiate each entry with a `_target_` of a config group such as `callbacks` or `logger`."""
    if not cfg:
        return []
    return [instantiate(c) for c in cfg.values() if isinstance(c, DictConfig) and "_target_" in c]


def log_hyperparameters(cfg: DictConfig, model: L.LightningModule, trainer: L.Trainer) -> None:
    """Send the resolved config and the model size to every logger."""
    if not trainer.loggers:
        return
    params = {
        "model/params/total": sum(p.numel() for p in model.parameters()),
        "model/params/trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    hparams = OmegaConf.to_container(cfg, resolve=True) | params
    for logger in trainer.loggers:
        logger.log_hyperparams(hparams)
