"""Helpers for composed configs: the printed tree, instantiating lists of objects, logging them."""

from pathlib import Path

import lightning as L
import rich
import rich.syntax
import rich.tree
from hydra.utils import instantiate
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

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
