"""`CheckpointOnStop`: `last.ckpt` when a run stops early, from a non-finite loss or Ctrl-C."""

import logging
import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from srlab.systems.sr import NonFiniteError

log = logging.getLogger(__name__)


class CheckpointOnStop(Callback):
    """Writes `last.ckpt` (beside the `ModelCheckpoint`'s files) when training stops on a non-finite loss
    or gradient, which is raised before its update so the weights are the last good step, or on Ctrl-C;
    then says how to resume."""

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, NonFiniteError | KeyboardInterrupt) or trainer.state.fn != TrainerFn.FITTING:
            return
        dirs = {cb.dirpath for cb in trainer.checkpoint_callbacks if cb.dirpath}
        for dirpath in dirs:
            path = Path(dirpath) / "last.ckpt"
            trainer.save_checkpoint(path, weights_only=False)
            why = "interrupted" if isinstance(exception, KeyboardInterrupt) else "stopped"
            log.warning(
                "%s at step %d: wrote %s. Resume with: python %s ckpt_path=%s (and the same overrides)",
                why, trainer.global_step, path, Path(sys.argv[0]).name or "train.py", path,
            )  # fmt: skip
