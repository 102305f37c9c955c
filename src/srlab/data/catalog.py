"""The standard SR data sets, where each comes from publicly, and making them present under the data root.

A data set is one or more folders of HR images under the data root (`${paths.data_dir}`), each taken
from a folder inside a public archive. Archives are saved in `<root>/downloads/` (delete them once
unpacked if space is short) and only the image folders are unpacked:

    T91/  General100/  BSD200/  Set5/  Set14/  BSD100/  Urban100/  Manga109/ (by hand)
    DIV2K/DIV2K_train_HR/  DIV2K/DIV2K_valid_HR/  DIV2K/DIV2K_{train,valid}_LR_bicubic/X{2,3,4}/
    Flickr2K/Flickr2K_HR/

Checksums: DIV2K's SHA-256 are TensorFlow Datasets' (`url_checksums/div2k.txt`); the MD5 of EDSR's
`benchmark.tar` and `Flickr2K.tar` are those torchSR checks. The others publish none: `None` here, and
the downloader prints the SHA-256 it computes so that it can be pinned. Every archive, downloaded or
saved by hand, is checked before it is unpacked, and every folder unpacked must hold its known number
of images. Each unpacked folder keeps a small record (`MARKER`: the archive, its SHA-256, and each
image's size) so that later runs notice a changed or missing image without hashing anything; a folder
filled by hand has no record and must hold the known number of images.

    ensure("set5", "data")                        # -> [Path("data/Set5")]
    SRDataModule(..., prepare=DataSets("data", ["div2k", "set5"]))  # reads data/DIV2K/DIV2K_train_HR_npy
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from srlab.data.download import download_checked, extract
from srlab.data.images import list_images
from srlab.data.layout import convert, npy_folder

MARKER = ".srlab-unpacked.json"


class DataSetUnavailable(FileNotFoundError):
    """A data set that cannot be downloaded automatically (its licence asks users to request it)."""


class BadDataSet(ValueError):
    """A data set folder without the images it should hold: too few, too many, or changed since unpacked."""


@dataclass(frozen=True)
class Archive:
    """A public archive and its published checksums (`None`: none published)."""

    url: str
    sha256: str | None = None
    md5: str | None = None
    filename: str | None = None  # when the URL does not end with the file's name


@dataclass(frozen=True)
class Folder:
    """A folder of images under the data root: the folder `inside` an archive, or filled by hand (`manual`)."""

    path: str
    images: int
    archive: Archive | None
    inside: str = ""
    manual: str = ""


@dataclass(frozen=True)
class DataSet:
    title: str
    folders: tuple[Folder, ...]
    npy: bool = False  # 2K images, read from the fast .npy layout: `DataSets` converts them by default


EDSR = "https://cv.snu.ac.kr/research/EDSR"
DIV2K = "https://data.vision.ee.ethz.ch/cvl/DIV2K"

# SRCNN's training package (Dong et al.): the 91 images of Yang et al. 2010 as BMP in SRCNN/Train.
SRCNN_TRAIN = Archive("https://mmlab.ie.cuhk.edu.hk/projects/SRCNN/SRCNN_train.zip")
# General-100 (FSRCNN, Dong et al. 2016): the Google Drive file that the FSRCNN project page links to.
GENERAL_100 = Archive(
    "https://drive.google.com/uc?export=download&id=0B7tU5Pj1dfCMVVdJelZqV0prWnM", filename="General-100.zip"
)
# BSDS300 (Martin et al. 2001): 200 training and 100 test images, from Berkeley.
BSDS300 = Archive("https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/segbench/BSDS300-images.tgz")
# EDSR's benchmark archive (Lim et al. 2017): Set5, Set14, B100 and Urban100, HR and bicubic LR.
BENCHMARK = Archive(f"{EDSR}/benchmark.tar", md5="4ace41d33c2384b97e6b320cd0afd6ba")
FLICKR2K = Archive(f"{EDSR}/Flickr2K.tar", md5="5d3f39443d5e9489bff8963f8f26cb03")

DIV2K_SHA256 = {
    "DIV2K_train_HR": "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335",
    "DIV2K_valid_HR": "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc",
    "DIV2K_train_LR_bicubic_X2": "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850",
    "DIV2K_train_LR_bicubic_X3": "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a",
    "DIV2K_train_LR_bicubic_X4": "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a",
    "DIV2K_valid_LR_bicubic_X2": "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57",
    "DIV2K_valid_LR_bicubic_X3": "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3",
    "DIV2K_valid_LR_bicubic_X4": "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553",
}


def _div2k(split: str, scale: int | None = None) -> Folder:
    """DIV2K's HR images of `split` ("train": 800, "valid": 100), or their official bicubic LR at `scale`."""
    name = f"DIV2K_{split}_HR" if scale is None else f"DIV2K_{split}_LR_bicubic_X{scale}"
    inside = name if scale is None else f"DIV2K_{split}_LR_bicubic/X{scale}"
    archive = Archive(f"{DIV2K}/{name}.zip", sha256=DIV2K_SHA256[name])
    return Folder(f"DIV2K/{inside}", 800 if split == "train" else 100, archive, inside)


T91 = Folder("T91", 91, SRCNN_TRAIN, "SRCNN/Train")
BSD200 = Folder("BSD200", 200, BSDS300, "BSDS300/images/train")
DIV2K_TRAIN = _div2k("train")
FLICKR2K_HR = Folder("Flickr2K/Flickr2K_HR", 2650, FLICKR2K, "Flickr2K/Flickr2K_HR")
SET5 = Folder("Set5", 5, BENCHMARK, "benchmark/Set5/HR")
SET14 = Folder("Set14", 14, BENCHMARK, "benchmark/Set14/HR")
BSD100 = Folder("BSD100", 100, BENCHMARK, "benchmark/B100/HR")
URBAN100 = Folder("Urban100", 100, BENCHMARK, "benchmark/Urban100/HR")
MANGA109 = Folder(
    "Manga109",
    109,
    None,
    manual="Manga109 is given out on request, for academic use: ask at http://www.manga109.org/en/download.html "
    "(the SR benchmark uses 109 images, one page per volume)",
)

DATA_SETS: dict[str, DataSet] = {
    "t91": DataSet("T91: 91 images of Yang et al., SRCNN's and FSRCNN's training set", (T91,)),
    "general100": DataSet(
        "General-100: 100 BMP images, FSRCNN's fine-tuning set",
        (Folder("General100", 100, GENERAL_100, "General-100"),),
    ),
    "bsd200": DataSet("BSD200: the 200 training images of BSDS300", (BSD200,)),
    "291images": DataSet("291 images: T91 + BSD200, the training set of VDSR and DRRN", (T91, BSD200)),
    "div2k": DataSet("DIV2K: 800 2K training images", (DIV2K_TRAIN,), npy=True),
    "div2k_val": DataSet("DIV2K validation: 100 2K images", (_div2k("valid"),)),
    **{
        f"div2k_lr_x{s}": DataSet(f"DIV2K training, official bicubic LR x{s}", (_div2k("train", s),)) for s in (2, 3, 4)
    },
    **{
        f"div2k_val_lr_x{s}": DataSet(f"DIV2K validation, official bicubic LR x{s}", (_div2k("valid", s),))
        for s in (2, 3, 4)
    },
    "flickr2k": DataSet("Flickr2K: 2,650 2K images (EDSR)", (FLICKR2K_HR,), npy=True),
    "df2k": DataSet("DF2K: DIV2K training + Flickr2K", (DIV2K_TRAIN, FLICKR2K_HR), npy=True),
    "set5": DataSet("Set5: 5 images (Bevilacqua et al.)", (SET5,)),
    "set14": DataSet("Set14: 14 images (Zeyde et al.)", (SET14,)),
    "bsd100": DataSet("BSD100 (B100): the 100 test images of BSDS300", (BSD100,)),
    "urban100": DataSet("Urban100: 100 images of buildings (Huang et al.)", (URBAN100,)),
    "manga109": DataSet("Manga109: 109 manga pages (by request, not downloadable)", (MANGA109,)),
    "benchmark": DataSet("Set5, Set14, BSD100 and Urban100", (SET5, SET14, BSD100, URBAN100)),
}


def _data_set(name: str) -> DataSet:
    if name not in DATA_SETS:
        raise ValueError(f"unknown data set {name!r}; the catalog has: {', '.join(DATA_SETS)}")
    return DATA_SETS[name]


def ensure(name: str, root: str | Path) -> list[Path]:
    """Make data set `name` present under `root`, downloading what is missing; return its image folders."""
    folders = _data_set(name).folders
    _fetch(folders, Path(root))
    return [Path(root) / folder.path for folder in folders]


def _fetch(folders: Iterable[Folder], root: Path) -> None:
    """Check the folders already under `root`; download and unpack the others, each archive once."""
    missing: dict[Archive, list[Folder]] = {}
    for folder in dict.fromkeys(folders):
        if (root / folder.path).is_dir():
            _check_present(folder, root / folder.path)
            continue
        if folder.archive is None:
            raise DataSetUnavailable(
                f"{folder.path} cannot be downloaded automatically. {folder.manual}. "
                f"Put its {folder.images} images into {root / folder.path}."
            )
        missing.setdefault(folder.archive, []).append(folder)
    for archive, wanted in missing.items():
        hint = "; or put " + ", ".join(f"the {f.images} images of {f.path} into {root / f.path}" for f in wanted)
        file, sha256 = download_checked(
            archive.url,
            root / "downloads",
            filename=archive.filename,
            sha256=archive.sha256,
            md5=archive.md5,
            hint=hint,
        )
        check = partial(_check_unpacked, {root / f.path: f for f in wanted}, file, sha256)
        extract(file, {folder.inside: root / folder.path for folder in wanted}, verify=check)


def _images(folder: Path) -> dict[str, int]:
    """The images directly in `folder`: {name: size in bytes}."""
    try:
        return {p.name: p.stat().st_size for p in list_images([folder])}
    except FileNotFoundError:  # it holds none
        return {}


def _check_unpacked(folders: Mapping[Path, Folder], archive: Path, sha256: str, unpacked: Path, dest: Path) -> None:
    """Check that `unpacked` (to become `dest`) holds its set's number of images, and record them there."""
    folder, images = folders[dest], _images(unpacked)
    if len(images) != folder.images:
        raise BadDataSet(
            f"{archive} gives {folder.path} the wrong number of images: {len(images)}, not {folder.images}; it is "
            "incomplete or not the published archive: delete it and run again to download it, or save it again by hand"
        )
    record = {"archive": archive.name, "sha256": sha256, "images": images}
    (unpacked / MARKER).write_text(json.dumps(record, indent=1) + "\n")


def _check_present(folder: Folder, path: Path) -> None:
    """Check a folder already there: against its record when it was unpacked, else its number of images."""
    images, marker = _images(path), path / MARKER
    if not marker.is_file():  # filled by hand
        if len(images) != folder.images:
            fix = "delete it to download it again" if folder.archive else f"put the {folder.images} images there"
            raise BadDataSet(
                f"{path} has the wrong number of images for {folder.path}: {len(images)}, not {folder.images}; {fix}"
            )
        return
    try:
        record = json.loads(marker.read_text())
        archive, recorded = record["archive"], record["images"]
    except (ValueError, KeyError, TypeError):
        raise BadDataSet(f"{marker} is damaged: delete {path} to unpack it again") from None
    if images != recorded:
        changed = [
            f"{name} {'missing' if name not in images else 'added' if name not in recorded else 'altered'}"
            for name in sorted(images.keys() | recorded.keys())
            if images.get(name) != recorded.get(name)
        ]
        listed = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise BadDataSet(
            f"{path} changed since it was unpacked from {archive} ({listed}): delete it to unpack it again"
        )


class DataSets:
    """Make data sets of the catalog present under `root`; the `prepare` of `SRDataModule`.

    Args:
        root: the data folder, `${paths.data_dir}` in the configs.
        names: data sets of `DATA_SETS`.
        npy: those of `names` to convert to the fast `.npy` layout of `srlab.data.layout`, whole images or
            `tile`-pixel tiles every `step` pixels; `folders()` then lists the converted folders. By
            default the 2K training sets (`DataSet.npy`: div2k, flickr2k, df2k).
        workers: conversion threads (default: one per core).
    """

    def __init__(
        self,
        root: str | Path,
        names: Sequence[str],
        npy: Sequence[str] | None = None,
        tile: int | None = None,
        step: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.names = [str(name) for name in names]
        for name in [*self.names, *(npy or [])]:
            _data_set(name)
        self.npy = [str(n) for n in npy] if npy is not None else [n for n in self.names if DATA_SETS[n].npy]
        if stray := [name for name in self.npy if name not in self.names]:
            raise ValueError(f"npy lists {stray}, which names does not: {self.names}")
        self.tile, self.step, self.workers = tile, step, workers

    def _targets(self) -> dict[Path, Folder]:
        """Each folder the data module reads, and the catalog folder it is made from."""
        targets = {}
        for name in self.names:
            for folder in DATA_SETS[name].folders:
                path = self.root / folder.path
                targets[npy_folder(path, self.tile, self.step) if name in self.npy else path] = folder
        return targets

    def folders(self) -> list[Path]:
        """The folders that are there once this has run."""
        return list(self._targets())

    def __call__(self, folders: Iterable[str | Path] | None = None) -> None:
        """Fetch (and convert) the data sets; only those holding `folders` when given."""
        targets = self._targets()
        if folders is not None:
            wanted = {Path(f).resolve() for f in folders}
            targets = {path: f for path, f in targets.items() if path.resolve() in wanted}
        # a folder read as it is is checked on every run; one read through its .npy layout, only to convert it
        _fetch([f for path, f in targets.items() if path == self.root / f.path or not path.is_dir()], self.root)
        for path, folder in targets.items():
            if path != self.root / folder.path:
                convert(self.root / folder.path, path, self.tile, self.step, self.workers)
