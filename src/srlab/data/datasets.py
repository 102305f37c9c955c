"""Datasets over image files. Workers decode, crop and flip/rotate uint8 images; every float operation
happens batched on the device (see `SRDataModule.on_after_batch_transfer`), except the evaluation LR
that CPU runs make in the workers (`EvalImages(make_lr=True)`)."""

from pathlib import Path

import numpy as np
import torch
from rich.progress import track
from torch.utils.data import Dataset

from srlab.data.degradation import degrade
from srlab.data.images import read_image

SSIM_WINDOW = 11  # pixels of `srlab.metrics.ssim`'s window: a scored image must hold one


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    # (H, W, 3) uint8 -> (3, H, W) uint8
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def d4(img: np.ndarray, k: int) -> np.ndarray:
    """One of the 8 flips/rotations by 90 degrees of an (H, W, C) image, k in 0..7 (as `srlab.data.bank.d4`)."""
    return np.rot90(img.swapaxes(0, 1) if k & 4 else img, k & 3)


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

    An item's key decides it all: image `key % len(files)`, and the seed of its crop and flip/rotation.
    `epoch_keys` draws an epoch's keys from (seed, epoch) alone, so a resumed run, or a worker started
    anew, cuts the same patches as an uninterrupted run.

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
        self.augment = augment
        self.images = None
        if cache:
            self.images = [self._load(i) for i in track(range(len(files)), "Decoding training images", transient=True)]

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

    def epoch_keys(self, seed: int, epoch: int) -> np.ndarray:
        """The `length` keys of an epoch: every image equally often, in random order, each with its own seed."""
        rng = np.random.default_rng([seed, epoch])
        images = rng.permutation(self.length) % len(self.files)
        return images + len(self.files) * rng.integers(0, 2**40, self.length)

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        i = key % len(self.files)
        hr, lr = self.images[i] if self.images is not None else self._load(i)
        rng = np.random.default_rng(key)
        k = int(rng.integers(8)) if self.augment else 0
        if lr is None:
            n = self.hr_size
            y, x = (int(rng.integers(size - n + 1)) for size in hr.shape[:2])
            return {"hr": _to_tensor(d4(hr[y : y + n, x : x + n], k))}
        # The same window in both images, at LR and HR resolution.
        p, s = self.patch_size, self.scale
        y, x = (int(rng.integers(size // s - p + 1)) for size in hr.shape[:2])
        return {
            "hr": _to_tensor(d4(hr[s * y : s * (y + p), s * x : s * (x + p)], k)),
            "lr": _to_tensor(d4(lr[y : y + p, x : x + p], k)),
        }


def min_eval_size(scale: int) -> int:
    """The smallest HR side that can be scored at `scale`: cropped to a multiple of the scale and shaved
    by `scale` pixels each side (the paper protocol), it must still hold SSIM's window."""
    return (-(-SSIM_WINDOW // scale) + 2) * scale


class EvalImages(Dataset):
    """Whole HR images, cropped at the bottom and right to a multiple of `scale`, and with `lr_files`
    their LR images (cropped to HR size / scale). With `make_lr` (and no `lr_files`), the LR image is made
    here by `degrade` (MATLAB bicubic, 8 bits): on a CPU the workers then make it while the main process
    scores the previous image, the same LR as made on the device."""

    def __init__(
        self, files: list[Path], scale: int, lr_files: list[Path] | None = None, make_lr: bool = False
    ) -> None:
        self.files, self.scale, self.lr_files, self.make_lr = files, scale, lr_files, make_lr

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> tuple[np.ndarray, bool, np.ndarray | None]:
        """Decode image `index` (and its LR image): (HR, grey, LR or None); a file that cannot be scored
        at this scale is named."""
        img, grey = read_image(self.files[index])
        h, w = img.shape[:2]
        if min(h, w) < min_eval_size(self.scale):
            side = min_eval_size(self.scale)
            raise ValueError(
                f"evaluation image {self.files[index]} is {w}x{h}: at scale {self.scale} an image needs at least "
                f"{side}x{side} pixels (SSIM's {SSIM_WINDOW}-pixel window inside the {self.scale}-pixel border "
                "that scoring crops): remove it from the set"
            )
        if not self.lr_files:
            return img, grey, None
        lr = read_image(self.lr_files[index])[0]
        check_pair(self.files[index], img, self.lr_files[index], lr, self.scale)
        return img, grey, lr

    def __getitem__(self, index: int) -> dict:
        img, grey, lr = self.read(index)
        h, w = img.shape[0] // self.scale, img.shape[1] // self.scale
        item = {
            "hr": _to_tensor(img[: h * self.scale, : w * self.scale]),
            "grey": grey,
            "name": self.files[index].stem,
        }
        if lr is not None:
            item["lr"] = _to_tensor(lr[:h, :w])
        elif self.make_lr:
            hr = item["hr"][None].float().div_(255)  # (1, 3, H, W) -> (3, H / s, W / s) 8-bit levels
            item["lr"] = degrade(hr, self.scale)[0].mul_(255).round_().to(torch.uint8)
        return item
