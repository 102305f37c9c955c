"""`SRDataModule`: HR image folders in, (LR, HR) batches out, degraded on the device."""

import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from numbers import Real
from pathlib import Path

import lightning as L
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from srlab.data.bank import PatchBank
from srlab.data.datasets import EvalImages, TrainPatches
from srlab.data.degradation import degrade
from srlab.data.images import image_size, list_images

log = logging.getLogger(__name__)


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


class PatchSampler(DistributedSampler):
    """The keys of an epoch of `TrainPatches` (see `TrainPatches.epoch_keys`), rank r taking keys
    r, r + world, ... They follow from (seed, epoch) alone, in the main process: workers, however many
    and however often restarted, cut the patches an uninterrupted run cuts.

    `position()` gives, when a pass starts, the epoch and the batches of it already done: a run resumed
    mid-epoch skips those. A `DistributedSampler`, so Lightning keeps it; the epoch Lightning passes to
    `set_epoch` is not used, as it runs one ahead after resuming from an end-of-epoch checkpoint.
    """

    def __init__(
        self,
        dataset: TrainPatches,
        seed: int,
        batch_size: int,
        position: Callable[[], tuple[int, int]],
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, seed=seed)
        self.batch_size, self.position = batch_size, position

    def __iter__(self) -> Iterator[int]:
        epoch, batches = self.position()
        keys = self.dataset.epoch_keys(self.seed, epoch)[self.rank :: self.num_replicas]
        return iter(keys[batches * self.batch_size :].tolist())

    def __len__(self) -> int:
        return len(self.dataset) // self.num_replicas


Folders = list[str] | dict[str, list[str]]


class _Steps(Dataset):
    """`length` placeholder items: the bank's loader only counts the steps of an epoch."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> int:
        return index


def resolve_folders(folders: Folders, what: str) -> tuple[list[Path], list[Path] | None]:
    """HR image files, and LR image files when `folders` is paired: `{hr: [...], lr: [...]}`.

    LR files pair with HR files in sorted order (DIV2K: `0001.png` with `0001x2.png`).
    """
    if not isinstance(folders, Mapping):
        return list_images(folders), None
    if set(folders) != {"hr", "lr"}:
        raise ValueError(f"{what}: a paired set is {{hr: [folders], lr: [folders]}}, got keys {sorted(folders)}")
    hr, lr = list_images(folders["hr"]), list_images(folders["lr"])
    if len(hr) != len(lr):
        raise ValueError(
            f"{what}: {len(hr)} HR images in {list(folders['hr'])} but {len(lr)} LR images in {list(folders['lr'])}"
        )
    return hr, lr


def _whole(least: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= least


def _non_negative(v: object) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and v >= 0


def _optional(valid: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or valid(v)


def _folders(v: object) -> bool:
    return isinstance(v, str | Mapping) or (isinstance(v, Sequence) and all(isinstance(f, str) for f in v))


def _scales(v: object) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, str) and all(map(_whole(1), v))


def _factors(v: object) -> bool:
    return isinstance(v, Sequence) and len(v) > 0 and all(_non_negative(f) and 0 < f <= 1 for f in v)


def _named_sets(v: object) -> bool:
    return isinstance(v, Mapping) and len(v) > 0 and all(map(_folders, v.values()))


OPTION_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "scale": (_whole(1), "a positive integer, e.g. data.scale=3"),
    "patch_size": (_whole(1), "a positive integer of LR pixels, e.g. data.patch_size=24"),
    "batch_size": (_whole(1), "a positive integer, e.g. data.batch_size=16"),
    "steps_per_epoch": (_whole(1), "a positive integer, e.g. data.steps_per_epoch=400"),
    "num_workers": (_whole(0), "0 (load in the main process) or more worker processes"),
    "train_scales": (_optional(_scales), "null or a list of positive integers, e.g. 'data.train_scales=[2,3,4]'"),
    "blur_sigma": (_non_negative, "0 or a positive number of pixels"),
    "noise_sigma": (_non_negative, "0 or a positive number of grey levels"),
    "bank_stride": (_optional(_whole(1)), "null or a positive integer of LR pixels"),
    "bank_rescale": (_optional(_factors), "null or a list of factors in (0, 1], e.g. 'data.bank_rescale=[1,0.9,0.8]'"),
    "train": (_folders, "a list of folders or files, or a paired set {hr: [folders], lr: [folders]}"),
    "val": (_named_sets, "named sets of folders, e.g. 'data.val={mine:[path/to/images]}'"),
    "test": (_optional(_named_sets), "null (the validation sets) or named sets like data.val"),
    **{key: (lambda v: isinstance(v, bool), "true or false")
       for key in ("cache", "augment", "pin_memory", "bank", "skip_small")},
}


def check_options(options: dict) -> None:
    """Name the first option of `data` (a keyword argument of `SRDataModule`) whose value is wrong."""
    for key, (valid, expected) in OPTION_RULES.items():
        if key in options and not valid(options[key]):
            raise ValueError(f"data.{key} must be {expected}; got {options[key]!r}")


def _folder_list(folders: Folders) -> list[str]:
    return [*folders["hr"], *folders["lr"]] if isinstance(folders, Mapping) else list(folders)


class SRDataModule(L.LightningDataModule):
    """Training patches and whole evaluation images from folders of HR images, or of LR/HR pairs.

    Args:
        scale: upscaling factor; LR images are made from HR with MATLAB-compatible bicubic, unless a
            set is paired, `{hr: [folders], lr: [folders]}`, as DIV2K with its official LR images.
        train: folders (or files) of training images, or a paired set.
        val: named evaluation sets, `{name: folders or paired set}`; the first one is monitored.
        test: named test sets; `None` means the validation sets.
        patch_size: LR patch size; HR patches are `patch_size * scale`.
        train_scales: multi-scale training (VDSR, MDSR): each batch is degraded by one of these
            scales, the same on every process; HR patches must be a multiple of each.
        steps_per_epoch: training steps per epoch, whatever the number of processes (images are
            sampled with replacement).
        blur_sigma, noise_sigma: optional Gaussian blur (pixels) before and noise (grey levels) after
            downscaling.
        bank: cut the training patches once and keep them on the device (`srlab.data.bank`): no
            workers and no resize per step. For small sets (T91, 291 images, the sample photos).
        bank_stride: LR pixels between neighbouring patches of the bank.
        bank_rescale: the bank also cuts each image downscaled by these factors (MATLAB bicubic), e.g.
            FSRCNN's [1, 0.9, 0.8, 0.7, 0.6]; None: the images as they are.
        skip_small: leave out training images smaller than the HR patch (logged, with their names)
            instead of stopping: LapSRN's 128-pixel patches and T91's smaller images.
        prepare: called once before anything is read, with the folders the stage reads (None: all),
            to download or write them.
    """

    def __init__(
        self,
        scale: int,
        train: Folders,
        val: dict[str, Folders],
        test: dict[str, Folders] | None = None,
        patch_size: int = 32,
        train_scales: list[int] | None = None,
        batch_size: int = 16,
        steps_per_epoch: int = 100,
        num_workers: int = 2,
        cache: bool = True,
        augment: bool = True,
        blur_sigma: float = 0.0,
        noise_sigma: float = 0.0,
        pin_memory: bool = True,
        bank: bool = False,
        bank_stride: int | None = None,
        bank_rescale: list[float] | None = None,
        skip_small: bool = False,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        check_options(
            dict(scale=scale, train=train, val=val, test=test, patch_size=patch_size, train_scales=train_scales,
                 batch_size=batch_size, steps_per_epoch=steps_per_epoch, num_workers=num_workers, cache=cache,
                 augment=augment, blur_sigma=blur_sigma, noise_sigma=noise_sigma, pin_memory=pin_memory, bank=bank,
                 bank_stride=bank_stride, bank_rescale=bank_rescale, skip_small=skip_small)
        )  # fmt: skip
        self.train_scales = list(train_scales or [])
        for s in self.train_scales:
            if (patch_size * scale) % s:
                raise ValueError(
                    f"data.train_scales: the HR patch ({patch_size} * {scale} pixels) is not a multiple of scale {s}"
                )
        self.scale = scale
        self.train_dirs, self.val_sets, self.test_sets = train, dict(val), dict(test or val)
        self.patch_size, self.batch_size, self.steps_per_epoch = patch_size, batch_size, steps_per_epoch
        self.num_workers, self.cache, self.augment, self.pin_memory = num_workers, cache, augment, pin_memory
        self.blur_sigma, self.noise_sigma = blur_sigma, noise_sigma
        if bank and (self.train_scales or noise_sigma > 0):
            raise ValueError(
                "data.bank=true makes each LR patch once, at data.scale and without noise: "
                "set data.bank=false for data.train_scales or data.noise_sigma"
            )
        if bank_rescale and not bank:
            raise ValueError("data.bank_rescale rescales the patch bank's images: set data.bank=true, or data.bank_rescale=null")
        self.use_bank, self.bank_stride = bank, bank_stride or max(1, patch_size // 2)
        self.bank_rescale = list(bank_rescale or [1.0])
        self.skip_small = skip_small
        self.bank: PatchBank | None = None
        self.sampler: PatchSampler | None = None
        self._prepare = prepare
        self._passes = 0  # of the training patches, when no trainer keeps count
        self._last_draw: tuple[int, dict] | None = None  # (batches processed, bank state) before the last draw
        self._checked: set[str] = set()
        # Set by train.py when the test sets are scored after training: fetched and checked before it.
        self.will_test = False

    @property
    def val_names(self) -> list[str]:
        return list(self.val_sets)

    @property
    def test_names(self) -> list[str]:
        return list(self.test_sets)

    def prepare_data(self) -> None:
        """Download or write what this stage reads: training and validation sets when fitting, test
        sets when testing (a training run does not fetch Urban100 unless `will_test`)."""
        if self._prepare is None:
            return
        fn = getattr(getattr(self.trainer, "state", None), "fn", None)
        fit = [*self.val_sets.values(), *(self.test_sets.values() if self.will_test else [])]
        sets = {"fit": [self.train_dirs, *fit], "validate": list(self.val_sets.values()),
                "test": list(self.test_sets.values())}.get(str(fn.value) if fn else "", None)  # fmt: skip
        self._prepare(None if sets is None else [f for s in sets for f in _folder_list(s)])

    def setup(self, stage: str) -> None:
        if stage == "fit" and not hasattr(self, "train_set"):
            self._setup_training()
        # Every evaluation image is decoded once now, so a bad one stops the run before training.
        sets = {"fit": {**self.val_sets, **(self.test_sets if self.will_test else {})}, "validate": self.val_sets}
        self.check_eval_sets(sets.get(stage, self.test_sets))

    def _setup_training(self) -> None:
        processes = self.trainer.world_size if self.trainer is not None else 1
        length = self.steps_per_epoch * self.batch_size * processes  # shared out by the sampler
        hr, lr = resolve_folders(self.train_dirs, "data.train")
        if self.skip_small:
            hr, lr = self._without_small(hr, lr)
        rank = self.trainer.global_rank if processes > 1 else 0
        if self.use_bank:
            if lr:
                raise ValueError("data.bank=true makes LR patches from HR images: set data.bank=false for paired data")
            self.bank = PatchBank(
                hr, self.scale, self.patch_size, self.bank_stride, self.blur_sigma, self.augment, self.bank_rescale,
                seed=torch.initial_seed() + rank,
            )  # fmt: skip
            self.train_set = _Steps(self.steps_per_epoch)
            return
        if lr and self.train_scales:
            raise ValueError("data.train_scales needs HR-only training data: paired LR images have one scale")
        self.train_set = TrainPatches(hr, self.scale, self.patch_size, length, self.cache, self.augment, lr)
        seed = torch.initial_seed()
        self.sampler = PatchSampler(self.train_set, seed, self.batch_size, self._patch_position, processes, rank)

    def _without_small(self, hr: list[Path], lr: list[Path] | None) -> tuple[list[Path], list[Path] | None]:
        """The training images (and their LR pairs) that hold an HR patch."""
        size = self.patch_size * self.scale
        keep = [min(image_size(f)) >= size for f in hr]
        small = [f.name for f, k in zip(hr, keep) if not k]
        if len(small) == len(hr):
            raise ValueError(f"data.skip_small: every training image is smaller than the HR patch of {size} pixels")
        if small:
            log.info("data.skip_small: %d of %d training images are smaller than the HR patch of %d pixels "
                     "and are left out: %s", len(small), len(hr), size, ", ".join(small))  # fmt: skip
        pick = lambda files: [f for f, k in zip(files, keep) if k]  # noqa: E731
        return pick(hr), None if lr is None else pick(lr)

    def _patch_position(self) -> tuple[int, int]:
        """(epoch, batches done in it) when a pass over the training patches starts: from the trainer's
        progress, which a resumed run restores; without Lightning's fit loop, each pass is the next epoch."""
        loop = getattr(self.trainer, "fit_loop", None)
        if loop is None:
            self._passes += 1
            return self._passes - 1, 0
        limit = self.trainer.limit_train_batches  # as Lightning reads it: a number of batches or a fraction
        per_epoch = min(self.steps_per_epoch, limit) if isinstance(limit, int) else int(self.steps_per_epoch * limit)
        return divmod(self._batches_processed(), max(1, per_epoch))

    def _batches_processed(self) -> int:
        """Training batches of the run whose step has run (restored on resuming)."""
        loop = getattr(self.trainer, "fit_loop", None)
        return loop.epoch_loop.batch_progress.total.processed if loop is not None else 0

    def check_eval_sets(self, sets: dict[str, Folders]) -> None:
        """Decode each image of `sets` (threads: decoding releases the GIL); the first that is missing,
        undecodable or too small for the scale is named."""
        datasets = [self._eval_set(name, folders) for name, folders in sets.items() if name not in self._checked]
        images = [(dataset, i) for dataset in datasets for i in range(len(dataset))]
        with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
            for _ in pool.map(lambda image: image[0].read(image[1]), images):
                pass
        self._checked |= set(sets)

    def _eval_set(self, name: str, folders: Folders) -> EvalImages:
        hr, lr = resolve_folders(folders, f"evaluation set {name}")
        # Without a GPU, the workers make the plain bicubic LR while the main process scores.
        plain = self.blur_sigma == 0 and self.noise_sigma == 0 and self.num_workers > 0
        return EvalImages(hr, self.scale, lr, make_lr=plain and not torch.cuda.is_available())

    def _loader(self, dataset: Dataset, **kwargs) -> DataLoader:
        return DataLoader(
            dataset,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory and torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
            # Its own generator for the workers' base seed: loading leaves the global RNG (which a resumed
            # run restores) alone.
            generator=torch.Generator(),
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        if self.bank is not None:  # batches are drawn from the bank in `on_after_batch_transfer`
            return DataLoader(self.train_set, batch_size=None, generator=torch.Generator())
        return self._loader(self.train_set, batch_size=self.batch_size, sampler=self.sampler, drop_last=True)

    def _eval_loaders(self, sets: dict[str, Folders]) -> list[DataLoader]:
        loaders = []
        for name, folders in sets.items():
            dataset = self._eval_set(name, folders)
            sampler = ShardSampler(dataset) if dist.is_available() and dist.is_initialized() else None
            loaders.append(self._loader(dataset, batch_size=1, sampler=sampler))
        return loaders

    def val_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders(self.val_sets)

    def test_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders(self.test_sets)

    def state_dict(self) -> dict:
        if self.bank is None:
            return {}
        # Written before the step of the last drawn batch ran (Ctrl-C): the resumed run draws that batch again.
        unfinished = self._last_draw is not None and self._batches_processed() == self._last_draw[0]
        return {"bank": self._last_draw[1] if unfinished else self.bank.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.bank is not None and "bank" in state:
            self.bank.load_state_dict(state["bank"])

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        if not isinstance(batch, dict):  # a step of the bank's loader
            self._last_draw = (self._batches_processed(), self.bank.state_dict())
            return self.bank.to(self.trainer.strategy.root_device).draw(self.batch_size)
        hr = batch["hr"].float().div_(255)  # (B, 3, H, W) uint8 -> float in [0, 1]
        if "lr" in batch:  # paired data
            return {**batch, "hr": hr, "lr": batch["lr"].float().div_(255)}
        training = self.trainer is not None and self.trainer.training
        scale, extra = self.scale, {}
        if training and self.train_scales:  # drawn from the seed and step: every process draws the same
            step = self.trainer.global_step
            scale = extra["scale"] = random.Random(torch.initial_seed() * 1_000_003 + step).choice(self.train_scales)
        generator = None
        if self.noise_sigma > 0 and not training:  # the same noise at every evaluation
            generator = torch.Generator(device=hr.device).manual_seed(0)
        lr = degrade(hr, scale, self.blur_sigma, self.noise_sigma, generator)
        return {**batch, "hr": hr, "lr": lr, **extra}
