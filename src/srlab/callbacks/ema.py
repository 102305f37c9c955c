"""`EMA`: an exponential moving average of the net's weights for any model (`callbacks=[default,ema]`)."""

import lightning as L
from lightning.pytorch.callbacks import Callback


class EMA(Callback):
    """Starts the system's EMA of the net's weights (`SRSystem.start_ema`) when training starts.

    The average moves `ema = decay * ema + (1 - decay) * w` after each optimizer step (each generator
    step of a GAN); validation, the image panels and the final scoring use it, and checkpoints hold it
    as `net_ema.`, which eval.py and upscale.py load. Resuming restores the average.
    """

    def __init__(self, decay: float = 0.999) -> None:
        self.decay = decay

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        if not hasattr(pl_module, "start_ema"):
            raise TypeError(f"callbacks.ema needs an SRSystem or GANSystem model, not {type(pl_module).__name__}")
        pl_module.start_ema(self.decay, option="callbacks.ema.decay")
