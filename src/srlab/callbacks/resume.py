"""`ResumeLogSteps`: a resumed run logs its metrics at the steps an uninterrupted run logs them."""

import lightning as L
from lightning.pytorch.callbacks import Callback


class ResumeLogSteps(Callback):
    """Puts the logging step of a resumed run back in line with its optimizer steps.

    Lightning logs at `fit_loop.epoch_loop._batches_that_stepped`. Resuming from a checkpoint written at
    the end of an epoch (where `last.ckpt` is written), it replays the end of that epoch and counts one
    batch more, so every metric after the resume lands one step late. The count is the batches whose
    optimizer step ran, which the restored progress holds.
    """

    def __init__(self) -> None:
        self.resumed = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.resumed = trainer.ckpt_path is not None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        if not self.resumed:
            return
        self.resumed = False
        loop = trainer.fit_loop.epoch_loop
        loop._batches_that_stepped = loop.batch_progress.total.completed // trainer.accumulate_grad_batches
