"""A fast on-disk layout for large training images: one uncompressed `.npy` file per image (or tile).

Decoding a 2K PNG takes tens of milliseconds, far more than a training step needs from it. Saved as
`.npy`, an image is memory-mapped by `srlab.data.images.read_image`: a random crop reads only the rows
it covers, from the page cache, and nothing is decoded. Images can also be cut into overlapping tiles,
like BasicSR's 480x480 sub-images with step 240 for DIV2K. Grey images are stored with one channel.
`python -m srlab.data.prepare` converts the data sets of the catalog.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rich.progress import track

from srlab.data.images import image_size, list_images, read_image


def npy_folder(folder: str | Path, tile: int | None = None, step: int | None = None) -> Path:
    """The folder that the `.npy` layout of `folder` goes to, beside it."""
    folder = Path(folder)
    if tile is None:
        return folder.with_name(f"{folder.name}_npy")
    return folder.with_name(f"{folder.name}_npy_tile{tile}_step{step or tile // 2}")


def tile_corners(height: int, width: int, tile: int, step: int) -> list[tuple[int, int]]:
    """Top-left corners of `tile`-pixel tiles every `step` pixels, the last ones flush with the far edges.

    A side shorter than `tile` gives one tile as long as the side.
    """

    def starts(size: int) -> list[int]:
        if size <= tile:
            return [0]
        out = list(range(0, size - tile + 1, step))
        return out if out[-1] == size - tile else [*out, size - tile]

    return [(top, left) for top in starts(height) for left in starts(width)]


def convert(
    src: str | Path,
    dst: str | Path | None = None,
    tile: int | None = None,
    step: int | None = None,
    workers: int | None = None,
) -> Path:
    """Write the images of folder `src` as `.npy` files into `dst` (by default `npy_folder(src, tile, step)`).

    A no-op when `dst` exists. Files are written into `.<dst>.converting` and the folder is renamed to
    `dst` at the end; an interrupted run keeps the finished files and the next one does the rest.
    With `tile`, each image becomes `<stem>_t<k>.npy` tiles every `step` pixels (default `tile // 2`).
    """
    src = Path(src)
    if tile is not None and (tile < 1 or (step is not None and step < 1)):
        raise ValueError(f"tile and step must be positive, got tile={tile}, step={step}")
    dst = Path(dst) if dst is not None else npy_folder(src, tile, step)
    if dst.is_dir():
        return dst
    files = list_images([src])
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        twins = sorted({s for s in stems if stems.count(s) > 1})
        raise ValueError(f"{src} holds several images with the same name, which would share a .npy file: {twins}")
    work = dst.with_name(f".{dst.name}.converting")
    work.mkdir(parents=True, exist_ok=True)
    step = None if tile is None else step or tile // 2

    def one(path: Path) -> None:
        _convert_image(path, work, tile, step)

    pool = ThreadPoolExecutor(workers or os.cpu_count())  # Pillow decodes with the GIL released
    try:
        for _ in track(pool.map(one, files), total=len(files), description=f"Converting {src.name} to .npy"):
            pass
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C, do not wait for the queued images
    work.replace(dst)
    return dst


def _convert_image(path: Path, work: Path, tile: int | None, step: int | None) -> None:
    if tile is None:
        names = {(0, 0, None): f"{path.stem}.npy"}
    else:
        height, width = image_size(path)  # reads the header only
        corners = tile_corners(height, width, tile, step)
        names = {(top, left, tile): f"{path.stem}_t{k:03d}.npy" for k, (top, left) in enumerate(corners)}
    if all((work / name).exists() for name in names.values()):
        return  # done by an earlier, interrupted run
    img, grey = read_image(path)
    if grey:
        img = img[..., :1]
    for (top, left, size), name in names.items():
        crop = img if size is None else img[top : top + size, left : left + size]
        tmp = work / f"{name}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(crop))
        tmp.replace(work / name)
