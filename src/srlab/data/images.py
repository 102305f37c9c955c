"""The one image reader of srlab: finding image files and decoding them, for training, evaluation and upscaling.

`decode_image` gives the pixels as the file stores them (8 or 16 bits; grey or RGB; alpha), upright by the
file's EXIF orientation. `read_image` turns them into what training and evaluation take: uint8 RGB and a
grey flag. Pillow decodes; OpenCV only decodes 16-bit colour, which Pillow's 8-bit colour modes cannot hold.
A `.npy` file of the fast layout (`srlab.data.layout`) is memory-mapped instead.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".npy",
)  # fmt: skip
_EXIF_ORIENTATION = 0x0112
# The view of the stored pixels that shows them upright, per EXIF orientation (as Pillow's exif_transpose).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: np.rot90(a, 1),
}
_GREY_MODES = ("1", "L", "LA", "La")
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
_WIDE_FORMATS = ("PNG", "TIFF", "PPM")  # the formats of IMAGE_EXTENSIONS that store 16-bit colour
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError)  # what Pillow raises on a damaged file


@dataclass
class ImagePixels:
    """An image file's pixels, upright, at the bit depth of the file."""

    colour: np.ndarray  # (H, W, 1) grey or (H, W, 3) RGB; uint8 or uint16
    alpha: np.ndarray | None  # (H, W), the dtype of `colour`

    @property
    def bits(self) -> int:
        return 16 if self.colour.dtype == np.uint16 else 8

    @property
    def grey(self) -> bool:
        return self.colour.shape[2] == 1


def list_images(folders: str | Path | Sequence[str | Path]) -> list[Path]:
    """The image files directly inside `folders` (or the files themselves), sorted per folder."""
    files: list[Path] = []
    for folder in map(Path, [folders] if isinstance(folders, (str, Path)) else folders):
        if folder.is_file():
            _check_extension(folder)
            files.append(folder)
            continue
        if not folder.is_dir():
            raise FileNotFoundError(f"image file or folder {folder} does not exist")
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not found:
            raise FileNotFoundError(f"image folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        files += found
    return files


def read_image(path: Path) -> tuple[np.ndarray, bool]:
    """Decode `path` to an (H, W, 3) uint8 RGB array; also say whether the file is grey-scale.

    Grey images are three views of one channel; alpha is dropped; 16-bit files are scaled to 8 bits
    (round(v / 257)). A `.npy` file stays memory-mapped: a crop of it reads only its rows.
    """
    image = decode_image(path)
    colour = image.colour if image.bits == 8 else np.round(image.colour / 257).astype(np.uint8)
    if image.grey:
        return np.broadcast_to(colour, (*colour.shape[:2], 3)), True
    return colour, False


def decode_image(path: Path) -> ImagePixels:
    """The pixels of an 8- or 16-bit grey, grey+alpha, RGB, RGBA, palette or CMYK image file, upright.

    The bit depth is the file's (a 16-bit file of dark values stays 16-bit); palette and CMYK images
    come as RGB (RGBA when the palette has transparency).
    """
    _check_file(path)
    if path.suffix.lower() == ".npy":
        return ImagePixels(_read_npy(path), None)
    with _open(path) as img:
        channels, bits = _file_mode(img)  # before load(), which drops the tile it is read from
        try:
            img.load()
        except _DECODE_ERRORS as err:
            raise _corrupt(path, err) from err
        orientation = _orientation(img)
        if bits == 16 and channels in ("RGB", "RGBA", "LA"):
            colour, alpha = _read_wide_colour(path, channels)
        else:
            colour, alpha = _pillow_pixels(path, img, bits)
    upright = _UPRIGHT.get(orientation)
    if upright is not None:
        colour = np.ascontiguousarray(upright(colour))
        alpha = None if alpha is None else np.ascontiguousarray(upright(alpha))
    return ImagePixels(colour, alpha)


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of the upright image, from the file's header."""
    _check_file(path)
    if path.suffix.lower() == ".npy":
        return _read_npy(path).shape[:2]
    with _open(path) as img:
        width, height = img.size
        return (width, height) if _orientation(img) in (5, 6, 7, 8) else (height, width)


def _check_extension(path: Path) -> None:
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ValueError(
            f"{path} has no image extension ({path.suffix or 'none'}); images are {', '.join(IMAGE_EXTENSIONS)}"
        )


def _check_file(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"image {path} does not exist")
    if not path.is_file():
        raise IsADirectoryError(f"image {path} is a folder, not an image file")
    _check_extension(path)
    if path.stat().st_size == 0:
        raise OSError(f"image {path} is empty (0 bytes): copy or download it again")


def _open(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except UnidentifiedImageError as err:
        raise OSError(f"cannot decode image {path}: it is not an image file, or its header is corrupt") from err
    except Image.DecompressionBombError as err:
        raise OSError(f"image {path} is too large to decode: {err}") from err
    except _DECODE_ERRORS as err:
        raise _corrupt(path, err) from err


def _corrupt(path: Path, err: Exception) -> OSError:
    return OSError(f"image {path} is truncated or corrupt ({err}): copy or download it again")


def _orientation(img: Image.Image) -> int:
    """The EXIF orientation, 1 (upright) to 8."""
    if img.format == "PNG" and "exif" not in img.info:
        return 1  # Pillow's getexif would decode the pixels to look for an eXIf chunk after them
    return int(img.getexif().get(_EXIF_ORIENTATION, 1))


def _file_mode(img: Image.Image) -> tuple[str, int]:
    """The file's own channels ("L", "LA", "RGB", ...) and bits per sample, from Pillow's tile before decoding.

    Pillow's colour modes hold 8 bits: it opens 16-bit RGB as "RGB" and 16-bit grey+alpha as "RGBA";
    only the raw mode of its decoder ("RGB;16B", "LA;16B") or PPM's maximum value tells.
    """
    if img.format not in _WIDE_FORMATS or not img.tile:
        return img.mode, 8
    args = img.tile[0][3]  # (decoder, extents, offset, args)
    if img.format == "PPM" and isinstance(args, tuple):  # (raw mode, maximum value)
        return img.mode, 16 if args[1] > 255 else 8
    channels, _, layout = str(args[0] if isinstance(args, tuple) else args).partition(";")
    return channels, 16 if layout.startswith("16") else 8


def _read_wide_colour(path: Path, channels: str) -> tuple[np.ndarray, np.ndarray | None]:
    """16-bit RGB, RGBA or grey+alpha pixels, by OpenCV."""
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        raise OSError(f"image {path} is truncated or corrupt: its 16-bit colour cannot be decoded")
    # OpenCV orders channels BGR(A); grey+alpha comes as BGRA with B = G = R.
    if channels == "LA":
        return np.ascontiguousarray(arr[..., :1]), np.ascontiguousarray(arr[..., 3])
    alpha = np.ascontiguousarray(arr[..., 3]) if channels == "RGBA" else None
    return np.ascontiguousarray(arr[..., 2::-1]), alpha


def _pillow_pixels(path: Path, img: Image.Image, bits: int) -> tuple[np.ndarray, np.ndarray | None]:
    if img.mode.startswith("I;16") or (img.mode == "I" and bits == 16):
        return np.asarray(img).astype(np.uint16)[..., None], None
    if img.mode in ("I", "F") or img.mode.startswith("I;"):
        kind = "floating-point" if img.mode == "F" else "32-bit integer"
        raise ValueError(f"image {path} has {kind} pixels (mode {img.mode}); only 8- and 16-bit images are read")
    alpha = img.mode in _ALPHA_MODES or (img.mode == "P" and "transparency" in img.info)
    grey = img.mode in _GREY_MODES
    arr = np.asarray(img.convert(("LA" if alpha else "L") if grey else ("RGBA" if alpha else "RGB")))
    if not alpha:
        return (arr[..., None] if grey else arr), None
    return np.ascontiguousarray(arr[..., :-1]), np.ascontiguousarray(arr[..., -1])


def _read_npy(path: Path) -> np.ndarray:
    """The (H, W, 1 or 3) uint8 array of a `.npy` layout file, memory-mapped and read-only."""
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as err:
        raise OSError(f"cannot read image {path}: {err}") from err
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise OSError(f"{path} is not an image of the .npy layout: {arr.dtype} {arr.shape}, not uint8 (H, W, 1 or 3)")
    return arr.view(np.ndarray)  # a plain array over the same mapped pages
