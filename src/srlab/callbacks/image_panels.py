"""Validation image panels (bicubic | SR | HR crops) sent to whichever loggers can show images."""

from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from PIL import Image
from torch import Tensor


def panel(bicubic: Tensor, sr: Tensor, hr: Tensor, size: int) -> np.ndarray:
    """Centre crops of `size` HR pixels side by side: (3, H, W) x 3 -> (size, 3 * size, 3) uint8."""
    h, w = hr.shape[-2:]
    size = min(size, h, w)
    top, left = (h - size) // 2, (w - size) // 2
    crops = [x[:, top : top + size, left : left + size] for x in (bicubic, sr, hr)]
    row = torch.cat(crops, dim=-1).clamp(0, 1).mul(255).round().byte()
    return row.permute(1, 2, 0).cpu().numpy()


class ImagePanels(L.Callback):
    """Logs a panel for each of the first `num_images` images of every validation set.

    W&B and TensorBoard loggers get the images; otherwise they are written as PNG files under
    `<run dir>/panels/`.
    """

    def __init__(self, num_images: int = 2, crop_size: int = 128) -> None:
        self.num_images, self.crop_size = num_images, crop_size

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or batch_idx >= self.num_images:
            return
        image = panel(outputs["bicubic"][0], outputs["sr"][0], batch["hr"][0], self.crop_size)
        set_name = pl_module.val_names[dataloader_idx]
        key, caption = f"val/panels/{set_name}", f"{batch['name'][0]}: bicubic | SR | HR"
        step = trainer.global_step
        shown = False
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key=f"{key}/{batch_idx}", images=[image], caption=[caption], step=step)
                shown = True
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(f"{key}/{batch_idx}", image, step, dataformats="HWC")
                shown = True
        if not shown:
            folder = Path(trainer.default_root_dir) / "panels" / set_name
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{batch['name'][0]}_step{step:07d}.png")
