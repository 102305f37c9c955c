"""Callbacks that tests add to real `train.py` runs (importable by the subprocess with PYTHONPATH=tests)."""

from pathlib import Path

import lightning as L


class StepMarker(L.Callback):
    """Writes `path` once training has completed `step` optimizer steps: the run is in its loop."""

    def __init__(self, path: str, step: int) -> None:
        self.path, self.step = Path(path), step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        if trainer.global_step >= self.step and not self.path.exists():
            self.path.write_text(str(trainer.global_step))
