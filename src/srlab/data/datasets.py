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


def decode_all(files: list[Path], what: str) -> list[np.ndarray]:
    return [read_image(f)[0] for f in track(files, description=f"Decoding {what}", transient=True)]


class TrainPatches(Dataset):
    """Random HR patches of `patch_size * scale` pixels with a random flip/rot90, `length` per epoch.

    With `cache`, images are decoded once in the main process; forked workers share them.
    """

    def __init__(
        self, files: list[Path], scale: int, patch_size: int, length: int, cache: bool = True, augment: bool = True
    ) -> None:
        self.files, self.length = files, length
        self.hr_size = patch_size * scale
        self.images = decode_all(files, f"{len(files)} training images") if cache else None
        if self.images is not None:
            for f, img in zip(files, self.images):
                self._check_size(f, img)
        steps = [A.RandomCrop(self.hr_size, self.hr_size)]
        if augment:
            steps.append(A.D4(p=1.0))  # one of the 8 flips/rotations by 90 degrees
        # albumentations keeps its own generator: seed it from torch (seed_everything), per worker too.
        self.transform = A.Compose(steps, seed=torch.initial_seed() % 2**32)

    def _check_size(self, path: Path, img: np.ndarray) -> None:
        h, w = img.shape[:2]
        if min(h, w) < self.hr_size:
            raise ValueError(f"training image {path} is {w}x{h}, smaller than the HR patch of {self.hr_size} pixels")

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        i = index % len(self.files)
        if self.images is not None:
            img = self.images[i]
        else:
            img = read_image(self.files[i])[0]
            self._check_size(self.files[i], img)
        return {"hr": _to_tensor(self.transform(image=img)["image"])}


def seed_worker(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream, from torch's per-worker seed."""
    pl_worker_init_function(worker_id)  # Lightning's numpy/random seeding, which a custom hook replaces
    info = get_worker_info()
    info.dataset.transform.set_random_seed(info.seed % 2**32)


class EvalImages(Dataset):
    """Whole HR images, cropped at the bottom and right to a multiple of `scale`."""

    def __init__(self, files: list[Path], scale: int) -> None:
        self.files, self.scale = files, scale

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        img, grey = read_image(self.files[index])
        h, w = img.shape[:2]
        img = img[: h - h % self.scale, : w - w % self.scale]
        return {"hr": _to_tensor(img), "grey": grey, "name": self.files[index].stem}
