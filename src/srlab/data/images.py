"""Finding and decoding image files into uint8 arrays, and reading the `.npy` layout of `srlab.data.layout`."""

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".npy"}


def list_images(folders: list[str | Path]) -> list[Path]:
    """All image files directly inside `folders` (or the files themselves), sorted per folder."""
    files: list[Path] = []
    for folder in map(Path, folders):
        if folder.is_file():
            files.append(folder)
            continue
        if not folder.is_dir():
            raise FileNotFoundError(f"image folder {folder} does not exist")
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not found:
            raise FileNotFoundError(f"image folder {folder} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        files += found
    return files


def read_image(path: Path) -> tuple[np.ndarray, bool]:
    """Decode `path` to an (H, W, 3) uint8 RGB array; also say whether the file is grey-scale.

    Grey images are copied to three channels; alpha is dropped; 16-bit images are scaled to 8 bits.
    A `.npy` file of the fast layout is memory-mapped, read-only: a crop of it reads only its rows.
    """
    if path.suffix.lower() == ".npy":
        return _read_npy(path)
    try:
        with Image.open(path) as img:
            grey = img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
            if img.mode.startswith("I;16") or img.mode in ("I", "F"):
                arr = np.asarray(img, dtype=np.float64)
                peak = 65535.0 if arr.max() > 255 else 255.0
                grey8 = np.clip(np.round(arr / peak * 255), 0, 255).astype(np.uint8)
                return np.repeat(grey8[..., None], 3, axis=2), True
            return np.asarray(img.convert("RGB")), grey
    except (UnidentifiedImageError, OSError) as err:
        raise OSError(f"cannot decode image {path}: {err}") from err


def _read_npy(path: Path) -> tuple[np.ndarray, bool]:
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as err:
        raise OSError(f"cannot read image {path}: {err}") from err
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise OSError(f"{path} is not an image of the .npy layout: {arr.dtype} {arr.shape}, not uint8 (H, W, 1 or 3)")
    arr = arr.view(np.ndarray)  # a plain array over the same mapped pages
    if arr.shape[2] == 1:  # grey, stored once: three channels as a view, no copy
        return np.broadcast_to(arr, (*arr.shape[:2], 3)), True
    return arr, False
