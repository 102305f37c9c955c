"""A patch bank: a small training set cut into (LR, HR) patches once, kept as tensors on the device.

T91, the 291 images or any small folder fits in memory many times over, so instead of decoding,
cropping and resizing in worker processes at every step, the bank cuts every HR patch once (on a grid
of `stride` LR pixels), makes its LR with the validation degradation (MATLAB bicubic, 8-bit LR) and
draws each batch with one index and a random flip/rotation per patch, on the training device.
With `rescale`, each image is also cut at smaller sizes (FSRCNN's augmentation: 0.9, 0.8, 0.7, 0.6).
"""

from collections.abc import Sequence
from pathlib import Path

import torch
from rich.progress import track
from torch import Tensor

from srlab.data.degradation import degrade
from srlab.data.images import read_image
from srlab.ops import imresize


def grid(size: int, patch: int, stride: int) -> list[int]:
    """Offsets of patches of `patch` pixels every `stride` pixels, the last one flush with the edge."""
    offsets = list(range(0, size - patch + 1, stride))
    if offsets[-1] != size - patch:
        offsets.append(size - patch)
    return offsets


def d4(x: Tensor, k: Tensor) -> Tensor:
    """Apply to each square patch x[i] (B, C, P, P) one of the 8 flips/rotations by 90 degrees, k[i] in 0..7."""
    out = torch.empty_like(x)
    for t in range(8):
        idx = (k == t).nonzero(as_tuple=True)[0]
        if idx.numel() == 0:
            continue
        y = x[idx]
        if t & 4:
            y = y.transpose(-2, -1)
        y = torch.rot90(y, t & 3, dims=(-2, -1))
        out[idx] = y
    return out


class PatchBank:
    """Every (LR, HR) training patch of `files`, as uint8 tensors; `draw` gives float batches in [0, 1].

    Args:
        files: HR image files.
        scale: upscaling factor.
        patch_size: LR patch size; HR patches are `patch_size * scale`.
        stride: LR pixels between neighbouring patches (HR: `stride * scale`).
        blur_sigma: Gaussian blur before downscaling, as in validation.
        augment: a random flip/rotation by 90 degrees per drawn patch.
        rescale: sizes to cut each image at, as factors of its own (MATLAB bicubic, rounded to 8 bits);
            a rescaled copy too small for one HR patch gives none.
        seed: seed of the sampler's generator (give each DDP process its own).
    """

    def __init__(
        self,
        files: list[Path],
        scale: int,
        patch_size: int,
        stride: int,
        blur_sigma: float = 0.0,
        augment: bool = True,
        rescale: Sequence[float] = (1.0,),
        seed: int = 0,
    ) -> None:
        if stride < 1:
            raise ValueError(f"data.bank_stride must be a positive number of LR pixels, got {stride}")
        if not rescale or not all(0 < f <= 1 for f in rescale):
            raise ValueError(f"data.bank_rescale must be factors in (0, 1], e.g. [1, 0.9, 0.8]; got {list(rescale)}")
        self.scale, self.augment = scale, augment
        hr_size, hr_stride = patch_size * scale, stride * scale
        hr_patches, lr_patches = [], []
        for path in track(files, "Cutting training patches", transient=True):
            img = torch.from_numpy(read_image(path)[0].copy()).permute(2, 0, 1)  # (3, H, W) uint8
            h, w = img.shape[1:]
            if min(h, w) < hr_size:
                raise ValueError(f"training image {path} is {w}x{h}, smaller than the HR patch of {hr_size} pixels")
            for factor in rescale:
                copy = img if factor == 1 else _rescaled(img, factor)
                h, w = copy.shape[1:]
                if min(h, w) < hr_size:
                    continue
                patches = torch.stack(
                    [copy[:, y : y + hr_size, x : x + hr_size] for y in grid(h, hr_size, hr_stride) for x in grid(w, hr_size, hr_stride)]
                )  # fmt: skip
                for chunk in patches.split(256):
                    lr = degrade(chunk.float().div_(255), scale, blur_sigma)  # exactly the validation LR
                    lr_patches.append(lr.mul_(255).round_().to(torch.uint8))
                hr_patches.append(patches)
        self.hr, self.lr = torch.cat(hr_patches), torch.cat(lr_patches)
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.hr.shape[0]

    def nbytes(self) -> int:
        return self.hr.numel() + self.lr.numel()

    def to(self, device: torch.device) -> "PatchBank":
        self.hr, self.lr = self.hr.to(device), self.lr.to(device)
        return self

    def draw(self, batch_size: int) -> dict[str, Tensor]:
        """A batch of random patches, each with a random flip/rotation: {"lr": (B, 3, p, p), "hr": (B, 3, sp, sp)}."""
        # Indices are drawn on the CPU (a generator whose state checkpoints can keep), used on the device.
        index = torch.randint(len(self), (batch_size,), generator=self.generator).to(self.hr.device)
        lr, hr = self.lr[index], self.hr[index]
        if self.augment:
            k = torch.randint(8, (batch_size,), generator=self.generator).to(self.hr.device)
            lr, hr = d4(lr, k), d4(hr, k)
        return {"lr": lr.float().div_(255), "hr": hr.float().div_(255)}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


def _rescaled(img: Tensor, factor: float) -> Tensor:
    """(3, H, W) uint8 resized by `factor` as MATLAB's imresize does a uint8 image."""
    return imresize(img[None].double().div_(255), factor, uint8=True)[0].mul_(255).round_().to(torch.uint8)
