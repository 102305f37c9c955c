"""`CheckpointOnStop`: `last.ckpt` when a run stops early, from a non-finite loss or Ctrl-C."""

import logging
import shlex
import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from srlab.systems.sr import NonFiniteError

log = logging.getLogger(__name__)


class CheckpointOnStop(Callback):
    """Writes `last.ckpt` (beside the `ModelCheckpoint`'s files) when training stops on a non-finite loss
    or gradient, which is raised before its update so the weights are the last good step, or on Ctrl-C
    (SIGINT); then says how to resume. Lightning exits with status 1 after an interrupt."""

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, NonFiniteError | KeyboardInterrupt) or trainer.state.fn != TrainerFn.FITTING:
            return
        dirs = {cb.dirpath for cb in trainer.checkpoint_callbacks if cb.dirpath}
        for dirpath in dirs:
            path = Path(dirpath) / "last.ckpt"
            trainer.save_checkpoint(path, weights_only=False)
            why = "interrupted" if isinstance(exception, KeyboardInterrupt) else "stopped"
            step, command = trainer.global_step, resume_command(path)
            log.warning("%s at step %d: wrote %s. Resume with: %s", why, step, path, command)


def resume_command(path: Path) -> str:
    """This command line with `ckpt_path=path` (and a new run directory); a multirun job's overrides are
    not on the command line, so it is only sketched."""
    script = Path(sys.argv[0]).name or "train.py"
    args = [a for a in sys.argv[1:] if not a.startswith(("ckpt_path=", "hydra.run.dir="))]
    if any(a in ("-m", "--multirun") for a in args):
        return f"python {script} ckpt_path={path} and this job's overrides"
    return shlex.join(["python", script, *args, f"ckpt_path={path}"])
