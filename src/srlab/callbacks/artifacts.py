"""`CheckpointArtifacts`: best.ckpt and last.ckpt as W&B model artifacts, online and offline alike."""

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only


def checkpoint_files(trainer: L.Trainer) -> dict[str, str]:
    """{"best": path, "latest": path} of the trainer's `ModelCheckpoint`s: the best by a monitored metric,
    and the newest (that of a checkpoint without a monitor, or a `save_last` file)."""
    files: dict[str, str] = {}
    for cb in trainer.checkpoint_callbacks:
        if not isinstance(cb, ModelCheckpoint):
            continue
        if cb.monitor and cb.best_model_path:
            files["best"] = cb.best_model_path
        newest = cb.last_model_path or (cb.best_model_path if not cb.monitor else "")
        if newest:
            files["latest"] = newest
    return files


class CheckpointArtifacts(Callback):
    """At the end of a successful fit, logs best.ckpt (alias `best`) and last.ckpt (alias `latest`) as
    versions of the model artifact `model-<run id>` of every W&B logger, with the step, score and net
    config as metadata. Offline, the run's log records the artifact and `wandb sync` uploads the files from
    the run directory, where they stay (Lightning's `log_model` refuses offline runs, and names last.ckpt
    `best` when it is its own callback's).

    Checkpoints also record the W&B run they belong to (`checkpoint["wandb"]`: project, run id and name,
    artifact), so eval.py and upscale.py can name the run that trained the net they load.
    """

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger) and logger.version:  # no version: not this process's run
                run = logger.experiment
                checkpoint["wandb"] = {"project": run.project, "run_id": run.id, "run_name": run.name,
                                       "artifact": f"model-{run.id}"}  # fmt: skip

    @rank_zero_only
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import wandb

        aliases: dict[str, list[str]] = {}
        for alias, path in checkpoint_files(trainer).items():  # best first: `latest` then goes to the newer one
            aliases.setdefault(path, []).append(alias)
        monitored = next((cb for cb in trainer.checkpoint_callbacks if getattr(cb, "monitor", None)), None)
        for logger in trainer.loggers:
            if not isinstance(logger, WandbLogger):
                continue
            for path, names in aliases.items():
                metadata = {"file": Path(path).name, "net": getattr(pl_module, "net_config", None),
                            "ema": getattr(pl_module, "net_ema", None) is not None}  # fmt: skip
                if "best" in names and monitored is not None:
                    metadata |= {"monitor": monitored.monitor, "score": float(monitored.best_model_score)}
                if "latest" in names:
                    metadata["step"] = trainer.global_step
                artifact = wandb.Artifact(f"model-{logger.version}", type="model", metadata=metadata)
                artifact.add_file(path, name="model.ckpt", policy="immutable")  # not copied to wandb's staging
                logger.experiment.log_artifact(artifact, aliases=names)
