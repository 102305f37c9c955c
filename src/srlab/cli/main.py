"""The entry points: `python train.py` / `srlab-train`, `python eval.py` / `srlab-eval`, `python upscale.py` /
`srlab-upscale` (the console scripts of an installed package, run from the folder that gets `data/` and `logs/`).

The configs are those of the package, `srlab/conf` (in the repository, a link to `conf/`).
"""

import os
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from srlab.cli.config import CONF_DIR
from srlab.cli.errors import check_command_line, reported_errors
from srlab.cli.evaluate import evaluate
from srlab.cli.train import train
from srlab.cli.upscale import upscale


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def train_task(cfg: DictConfig) -> float | None:
    with reported_errors():
        metrics = train(cfg)
    return metrics.get(cfg.get("optimized_metric") or "", None)  # what an hparams_search sweep maximises


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="eval")
def eval_task(cfg: DictConfig) -> None:
    with reported_errors():
        evaluate(cfg)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="upscale")
def upscale_task(cfg: DictConfig) -> None:
    with reported_errors():
        upscale(cfg)


def _run(task: Callable[[], object]) -> None:
    os.environ.setdefault("SRLAB_ROOT", os.getcwd())  # paths.root_dir: data/ and logs/ go there
    check_command_line()
    task()  # a console script must not return the task's value: it would become the exit status


def train_cli() -> None:
    """`srlab-train <overrides>`, as `python train.py <overrides>`."""
    _run(train_task)


def eval_cli() -> None:
    """`srlab-eval <overrides>`, as `python eval.py <overrides>`."""
    _run(eval_task)


def upscale_cli() -> None:
    """`srlab-upscale <overrides>`, as `python upscale.py <overrides>`."""
    _run(upscale_task)
