"""Validation image panels (LR | bicubic | SR | HR crops, captioned with the image's name and PSNRs) for the
loggers that show images, and the per-image rows of the final scoring (`ImagePanels.final_rows`)."""

from pathlib import Path

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.trainer.states import TrainerFn
from PIL import Image
from torch import Tensor
from torch.nn import functional as F

from srlab.metrics.quality import image_quality

TABLE_COLUMNS = ["set", "image", "psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "LR | bicubic | SR | HR"]


def panel(*images: Tensor, size: int) -> np.ndarray:
    """Centre crops of `size` HR pixels side by side: (3, H, W) x n -> (size, n * size, 3) uint8."""
    h, w = images[-1].shape[-2:]
    size = min(size, h, w)
    top, left = (h - size) // 2, (w - size) // 2
    crops = [x[:, top : top + size, left : left + size] for x in images]
    row = torch.cat(crops, dim=-1).clamp(0, 1).mul(255).round().byte()
    return row.permute(1, 2, 0).cpu().numpy()


def logging_step(trainer: L.Trainer) -> int:
    """The step Lightning logs metrics at: the batches that stepped before this one (so, while validating
    after step 400, 399). Images logged at it share their step with the metrics of the same validation."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


class ImagePanels(L.Callback):
    """While training, logs a panel of each of the first `num_images` images of every validation set:
    the LR image (nearest-upscaled), bicubic, SR and HR crops, captioned with the image's name and the
    PSNR of SR and bicubic. W&B and TensorBoard loggers get the images, at the step of the validation's
    metrics; without either they are written as PNG files under `<run dir>/panels/`.

    A validation outside training (the final scoring of the best checkpoint) logs no panels; with `table`,
    it keeps a row per image (set, name, PSNR/SSIM of SR and bicubic, the panel) in `final_rows`, for
    every image of every set, gathered from all processes.
    """

    def __init__(self, num_images: int = 2, crop_size: int = 128, table: bool = True) -> None:
        self.num_images, self.crop_size, self.table = num_images, crop_size, table
        self.final_rows: list[list] = []

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn != TrainerFn.FITTING:
            self.final_rows = []

    def on_validation_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        fitting = trainer.state.fn == TrainerFn.FITTING
        if trainer.sanity_checking or (fitting and (not trainer.is_global_zero or batch_idx >= self.num_images)):
            return
        if not fitting and not self.table:
            return
        set_name, scale = pl_module.val_names[dataloader_idx], pl_module.scale
        psnr, ssim = image_quality(outputs["scored"], batch["hr"], batch["grey"], border=scale)
        psnr_b, ssim_b = image_quality(outputs["bicubic"], batch["hr"], batch["grey"], border=scale)
        lr_up = F.interpolate(batch["lr"], scale_factor=scale, mode="nearest")
        for i, name in enumerate(batch["name"]):
            image = panel(lr_up[i], outputs["bicubic"][i], outputs["sr"][i], batch["hr"][i], size=self.crop_size)
            if not fitting:
                values = [float(v[i]) for v in (psnr, ssim, psnr_b, ssim_b)]
                self.final_rows.append([set_name, name, *values, image])
                continue
            caption = f"{name}: SR {psnr[i]:.2f} dB, bicubic {psnr_b[i]:.2f} dB (LR | bicubic | SR | HR)"
            self._show(trainer, f"val/panels/{set_name}/{batch_idx}", image, caption, f"{set_name}/{name}")

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn != TrainerFn.FITTING and self.table and dist.is_available() and dist.is_initialized():
            shards: list[list] = [[] for _ in range(dist.get_world_size())]
            dist.all_gather_object(shards, self.final_rows)
            self.final_rows = [row for shard in shards for row in shard]

    def _show(self, trainer: L.Trainer, key: str, image: np.ndarray, caption: str, file_stem: str) -> None:
        step, shown = logging_step(trainer), False
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image(key=key, images=[image], caption=[caption], step=step)
                shown = True
            elif isinstance(logger, TensorBoardLogger):
                logger.experiment.add_image(key, image, step, dataformats="HWC")
                shown = True
        if not shown:
            path = Path(trainer.default_root_dir) / "panels" / f"{file_stem}_step{step:07d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
