"""Datasets over image files. Workers only decode, crop and flip/rotate uint8 images; every float
operation happens batched on the device (see `SRDataModule.on_after_batch_transfer`)."""

from pathlib import Path

import albumentations as A
import numpy as np
import torch
from lightning.fabric.utilities.seed import pl_worker_init_function
from rich.progress import track
from torch.utils.data import Dataset, get_worker_info

from srlab.data.images import read_image


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    # (H, W, 3) uint8 -> (3, H, W) uint8
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def check_pair(hr_file: Path, hr: np.ndarray, lr_file: Path, lr: np.ndarray, scale: int) -> None:
    """An LR file made by `imresize(HR, 1/scale)` is ceil(HR size / scale) pixels each way."""
    expected = tuple(-(-n // scale) for n in hr.shape[:2])
    if lr.shape[:2] != expected:
        raise ValueError(
            f"LR image {lr_file} is {lr.shape[1]}x{lr.shape[0]} but its HR image {hr_file} is "
            f"{hr.shape[1]}x{hr.shape[0]}: at scale {scale} the LR image must be {expected[1]}x{expected[0]}"
        )


class TrainPatches(Dataset):
    """Random HR patches of `patch_size * scale` pixels with a random flip/rot90, `length` per epoch.

    With `lr_files` (paired data, e.g. DIV2K's official LR), each item also holds the matching LR
    patch of `patch_size` pixels. With `cache`, images are decoded once in the main process; forked
    workers share them.
    """

    def __init__(
        self,
        files: list[Path],
        scale: int,
        patch_size: int,
        length: int,
        cache: bool = True,
        augment: bool = True,
        lr_files: list[Path] | None = None,
    ) -> None:
        self.files, self.lr_files, self.length = files, lr_files, length
        self.scale, self.patch_size, self.hr_size = scale, patch_size, patch_size * scale
        self.images = None
        if cache:
            self.images = [self._load(i) for i in track(range(len(files)), "Decoding training images", transient=True)]
        steps = [] if lr_files else [A.RandomCrop(self.hr_size, self.hr_size)]
        if augment:
            steps.append(A.D4(p=1.0))  # one of the 8 flips/rotations by 90 degrees
        # albumentations keeps its own generator: seed it from torch (seed_everything), per worker too.
        self.transform = A.Compose(
            steps,
            seed=torch.initial_seed() % 2**32,
            additional_targets={"lr": "image"},
            is_check_shapes=False,  # a paired LR patch is smaller than its HR patch
        )

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray | None]:
        hr = read_image(self.files[i])[0]
        h, w = hr.shape[:2]
        if min(h, w) < self.hr_size:
            raise ValueError(
                f"training image {self.files[i]} is {w}x{h}, smaller than the HR patch of {self.hr_size} pixels"
            )
        if not self.lr_files:
            return hr, None
        lr = read_image(self.lr_files[i])[0]
        check_pair(self.files[i], hr, self.lr_files[i], lr, self.scale)
        return hr, lr

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        i = index % len(self.files)
        hr, lr = self.images[i] if self.images is not None else self._load(i)
        if lr is None:
            return {"hr": _to_tensor(self.transform(image=hr)["image"])}
        # The same random window in both images, at LR and HR resolution.
        p, s = self.patch_size, self.scale
        y = int(torch.randint(hr.shape[0] // s - p + 1, ()))
        x = int(torch.randint(hr.shape[1] // s - p + 1, ()))
        out = self.transform(
            image=hr[s * y : s * (y + p), s * x : s * (x + p)],
            lr=lr[y : y + p, x : x + p],
        )
        return {"hr": _to_tensor(out["image"]), "lr": _to_tensor(out["lr"])}


def seed_worker(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream, from torch's per-worker seed."""
    pl_worker_init_function(worker_id)  # Lightning's numpy/random seeding, which a custom hook replaces
    info = get_worker_info()
    info.dataset.transform.set_random_seed(info.seed % 2**32)


class EvalImages(Dataset):
    """Whole HR images, cropped at the bottom and right to a multiple of `scale`, and with `lr_files`
    their LR images (cropped to HR size / scale)."""

    def __init__(self, files: list[Path], scale: int, lr_files: list[Path] | None = None) -> None:
        self.files, self.scale, self.lr_files = files, scale, lr_files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        img, grey = read_image(self.files[index])
        h, w = img.shape[0] // self.scale, img.shape[1] // self.scale
        item = {
            "hr": _to_tensor(img[: h * self.scale, : w * self.scale]),
            "grey": grey,
            "name": self.files[index].stem,
        }
        if self.lr_files:
            lr = read_image(self.lr_files[index])[0]
            check_pair(self.files[index], img, self.lr_files[index], lr, self.scale)
            item["lr"] = _to_tensor(lr[:h, :w])
        return item
