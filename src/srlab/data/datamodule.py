"""`SRDataModule`: HR image folders in, (LR, HR) batches out, degraded on the device."""

from collections.abc import Callable

import lightning as L
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from srlab.data.datasets import EvalImages, TrainPatches, seed_worker
from srlab.data.degradation import degrade
from srlab.data.images import list_images


class ShardSampler(DistributedSampler):
    """Rank r takes images r, r + world, ...: no padding, so every image is scored exactly once.

    A `DistributedSampler`, so Lightning keeps it instead of putting in its padding one.
    """

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)

    def __iter__(self):
        return iter(range(self.rank, len(self.dataset), self.num_replicas))

    def __len__(self) -> int:
        return len(range(self.rank, len(self.dataset), self.num_replicas))


class SRDataModule(L.LightningDataModule):
    """Training patches and whole evaluation images from folders of HR images.

    Args:
        scale: upscaling factor; LR images are made from HR with MATLAB-compatible bicubic.
        train: folders (or files) of training images.
        val: named evaluation sets, `{name: [folders]}`; the first one is monitored.
        test: named test sets; `None` means the validation sets.
        patch_size: LR patch size; HR patches are `patch_size * scale`.
        steps_per_epoch: training steps per epoch, whatever the number of processes (images are
            sampled with replacement).
        blur_sigma, noise_sigma: optional Gaussian blur (pixels) before and noise (grey levels) after
            downscaling.
        prepare: called once before anything is read, to download or write the data set.
    """

    def __init__(
        self,
        scale: int,
        train: list[str],
        val: dict[str, list[str]],
        test: dict[str, list[str]] | None = None,
        patch_size: int = 32,
        batch_size: int = 16,
        steps_per_epoch: int = 100,
        num_workers: int = 2,
        cache: bool = True,
        augment: bool = True,
        blur_sigma: float = 0.0,
        noise_sigma: float = 0.0,
        pin_memory: bool = True,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(scale, int) or scale < 1:
            raise ValueError(f"data.scale must be a positive integer, got {scale!r}")
        if not val:
            raise ValueError("data.val must name at least one evaluation set")
        self.scale = scale
        self.train_dirs, self.val_sets = list(train), {k: list(v) for k, v in val.items()}
        self.test_sets = {k: list(v) for k, v in (test or val).items()}
        self.patch_size, self.batch_size, self.steps_per_epoch = patch_size, batch_size, steps_per_epoch
        self.num_workers, self.cache, self.augment, self.pin_memory = num_workers, cache, augment, pin_memory
        self.blur_sigma, self.noise_sigma = blur_sigma, noise_sigma
        self._prepare = prepare

    @property
    def val_names(self) -> list[str]:
        return list(self.val_sets)

    @property
    def test_names(self) -> list[str]:
        return list(self.test_sets)

    def prepare_data(self) -> None:
        if self._prepare is not None:
            self._prepare()

    def setup(self, stage: str) -> None:
        if stage == "fit" and not hasattr(self, "train_set"):
            processes = self.trainer.world_size if self.trainer is not None else 1
            length = self.steps_per_epoch * self.batch_size * processes  # shared out by DDP's sampler
            self.train_set = TrainPatches(
                list_images(self.train_dirs), self.scale, self.patch_size, length, self.cache, self.augment
            )

    def _loader(self, dataset: Dataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory and torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(
            self.train_set, batch_size=self.batch_size, shuffle=True, drop_last=True, worker_init_fn=seed_worker
        )

    def _eval_loaders(self, sets: dict[str, list[str]]) -> list[DataLoader]:
        loaders = []
        for folders in sets.values():
            dataset = EvalImages(list_images(folders), self.scale)
            sampler = ShardSampler(dataset) if dist.is_available() and dist.is_initialized() else None
            loaders.append(self._loader(dataset, batch_size=1, sampler=sampler))
        return loaders

    def val_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders(self.val_sets)

    def test_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders(self.test_sets)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        hr = batch["hr"].float().div_(255)  # (B, 3, H, W) uint8 -> float in [0, 1]
        training = self.trainer is not None and self.trainer.training
        generator = None
        if self.noise_sigma > 0 and not training:  # the same noise at every evaluation
            generator = torch.Generator(device=hr.device).manual_seed(0)
        lr = degrade(hr, self.scale, self.blur_sigma, self.noise_sigma, generator)
        return {**batch, "hr": hr, "lr": lr}
