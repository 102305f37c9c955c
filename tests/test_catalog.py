"""The data-set catalog, the `data=` configs built on it, and the fast `.npy` layout."""

import hashlib
import io
import re
import tarfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from conftest import ROOT, closed_port_url, compose_train, photo_crops, write_images
from srlab.data import SRDataModule, catalog
from srlab.data.catalog import DATA_SETS, Archive, BadDataSet, DataSets, DataSetUnavailable, ensure
from srlab.data.datasets import TrainPatches
from srlab.data.download import DownloadError
from srlab.data.images import list_images, read_image
from srlab.data.layout import convert, npy_folder, tile_corners
from srlab.data.prepare import main

CATALOG_CONFIGS = sorted(p.stem for p in (ROOT / "conf" / "data").glob("*.yaml") if p.stem not in ("folder", "sample"))


@pytest.mark.parametrize("option", CATALOG_CONFIGS)
def test_every_data_config_reads_exactly_what_its_prepare_makes(option, tmp_path):
    cfg = compose_train([f"data={option}", f"paths.data_dir={tmp_path}"], tmp_path / "run")
    prepare = instantiate(cfg.data.prepare)
    assert isinstance(prepare, DataSets)
    read = [*cfg.data.train, *(f for fs in cfg.data.val.values() for f in fs)]
    read += [f for fs in (cfg.data.test or {}).values() for f in fs]
    assert set(map(Path, read)) == set(prepare.folders())  # nothing missing, nothing fetched for nothing
    catalog_paths = {tmp_path / f.path for name in prepare.names for f in DATA_SETS[name].folders}
    assert {f for f in prepare.folders() if not f.name.endswith("_npy")} <= catalog_paths
    assert {f.with_name(f.name.removesuffix("_npy")) for f in prepare.folders()} <= catalog_paths


def test_catalog_entries_are_well_formed():
    for name, data_set in DATA_SETS.items():
        for folder in data_set.folders:
            assert not Path(folder.path).is_absolute() and folder.images > 0, name
            if folder.archive is None:
                assert folder.manual, f"{name}: no archive and no word on how to get it"
                continue
            assert urlsplit(folder.archive.url).scheme == "https", name  # published sources only, never fetched here
            assert folder.archive.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", folder.archive.sha256), name
            assert folder.archive.md5 is None or re.fullmatch(r"[0-9a-f]{32}", folder.archive.md5), name
    folders = {f.path: f for data_set in DATA_SETS.values() for f in data_set.folders}
    assert [f.path for f in DATA_SETS["291images"].folders] == ["T91", "BSD200"]
    assert DATA_SETS["df2k"].folders == DATA_SETS["div2k"].folders + DATA_SETS["flickr2k"].folders
    assert folders["DIV2K/DIV2K_train_LR_bicubic/X3"].archive.url.endswith("/DIV2K_train_LR_bicubic_X3.zip")


def serve_locally(monkeypatch, names: list[str], archive: Archive, images: dict[str, int]) -> None:
    """Point the folders of data sets `names` at `archive`, keeping their paths inside it and under the root,
    with the numbers of images the small stand-in archive holds ({folder path: images})."""
    for name in names:
        data_set = DATA_SETS[name]
        folders = tuple(replace(f, archive=archive, images=images[f.path]) for f in data_set.folders)
        monkeypatch.setitem(catalog.DATA_SETS, name, replace(data_set, folders=folders))


def tar_of(members: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        for name, path in members.items():
            tf.add(path, arcname=name)
    return buffer.getvalue()


@pytest.fixture
def benchmark_tar(tmp_path) -> tuple[bytes, dict[str, list[Path]]]:
    """A small stand-in for EDSR's benchmark.tar: Set5 and Set14 HR images, and LR images not to unpack."""
    images = {
        "Set5": list_images([write_images(tmp_path / "src5", photo_crops([(30, 40)] * 3, seed=3), grey=(1,))]),
        "Set14": list_images([write_images(tmp_path / "src14", photo_crops([(24, 20)] * 2, seed=4))]),
    }
    members = {f"benchmark/{s}/HR/{p.name}": p for s, files in images.items() for p in files}
    members |= {f"benchmark/Set5/LR_bicubic/X2/{p.name}": p for p in images["Set5"]}
    return tar_of(members), images


def test_data_sets_download_once_unpack_their_folders_and_then_do_nothing(benchmark_tar, server, monkeypatch, tmp_path):
    body, images = benchmark_tar
    archive = Archive(server.serve("benchmark.tar", body), md5=hashlib.md5(body).hexdigest())
    counts = {"Set5": 3, "Set14": 2}
    serve_locally(monkeypatch, ["set5", "set14"], archive, counts)
    root = tmp_path / "data"
    prepare = DataSets(root, ["set5", "set14"])
    prepare()
    assert server.httpd.requests == [None]  # one download for both sets
    assert sorted(p.name for p in root.iterdir()) == ["Set14", "Set5", "downloads"]  # no LR, no staging
    for name, files in images.items():
        assert [p.read_bytes() for p in list_images([root / name])] == [p.read_bytes() for p in files]
    assert prepare.folders() == [root / "Set5", root / "Set14"]

    serve_locally(monkeypatch, ["set5", "set14"], replace(archive, url=closed_port_url("benchmark.tar")), counts)
    prepare()  # present: nothing fetched, no error although the server is gone
    assert ensure("set5", root) == [root / "Set5"]


def test_a_stage_fetches_only_the_folders_it_reads(tiny_data, monkeypatch, tmp_path):
    """Fitting reads training and validation sets: the test sets (Urban100...) are not fetched then."""
    asked = []
    monkeypatch.setattr(catalog, "_fetch", lambda folders, root: asked.append(sorted(f.path for f in folders)))
    root = tmp_path / "data"
    prepare = DataSets(root, ["set5", "set14"])
    dm = SRDataModule(scale=2, train=[str(tiny_data["train"])], val={"set5": [str(root / "Set5")]},
                      test={"set14": [str(root / "Set14")]}, prepare=prepare)  # fmt: skip
    for stage, expected in (("fit", ["Set5"]), ("test", ["Set14"])):
        dm.trainer = SimpleNamespace(state=SimpleNamespace(fn=SimpleNamespace(value=stage)))
        dm.prepare_data()
        assert asked.pop() == expected
    dm.trainer = None
    dm.prepare_data()  # outside a trainer (eval.py): everything
    assert asked.pop() == ["Set14", "Set5"]


def test_offline_error_names_url_and_the_folder_to_fill_by_hand(monkeypatch, tmp_path):
    url = closed_port_url("benchmark.tar")
    serve_locally(monkeypatch, ["set14"], Archive(url), {"Set14": 14})
    with pytest.raises(DownloadError) as failure:
        ensure("set14", tmp_path)
    message = str(failure.value)
    assert url in message and f"the 14 images of Set14 into {tmp_path / 'Set14'}" in message
    assert not (tmp_path / "Set14").exists()


def test_manga109_says_where_to_request_it_and_works_when_put_there_by_hand(tmp_path):
    with pytest.raises(DataSetUnavailable) as failure:
        DataSets(tmp_path, ["manga109"])()
    assert "manga109.org" in str(failure.value) and str(tmp_path / "Manga109") in str(failure.value)
    write_images(tmp_path / "Manga109", photo_crops([(8, 8)] * 108))
    with pytest.raises(BadDataSet, match=r"Manga109: 108, not 109; put the 109 images there"):
        ensure("manga109", tmp_path)  # one short: not the benchmark
    write_images(tmp_path / "extra", photo_crops([(8, 8)])).joinpath("img00.png").rename(tmp_path / "Manga109/last.png")
    assert ensure("manga109", tmp_path) == [tmp_path / "Manga109"]


def test_unknown_data_sets_are_named():
    with pytest.raises(ValueError, match="'set6'"):
        DataSets("data", ["set5", "set6"])
    with pytest.raises(ValueError, match="div2k"):
        DataSets("data", ["set5"], npy=["div2k"])  # converts a set it does not fetch


@pytest.fixture
def pngs(tmp_path) -> Path:
    """Colour and grey PNGs of sizes that are not multiples of anything."""
    return write_images(tmp_path / "png", photo_crops([(61, 75), (50, 47), (66, 58)], seed=5), grey=(1,))


def test_npy_layout_round_trips_pixel_exactly(pngs, tmp_path):
    out = convert(pngs, workers=2)
    assert out == npy_folder(pngs) == tmp_path / "png_npy"
    assert [p.name for p in list_images([out])] == ["img00.npy", "img01.npy", "img02.npy"]
    assert not list(tmp_path.glob(".*"))  # the work folder was renamed into place
    for png, npy in zip(list_images([pngs]), list_images([out])):
        (expected, expected_grey), (img, grey) = read_image(png), read_image(npy)
        assert grey == expected_grey and img.dtype == np.uint8 and np.array_equal(img, expected)
    assert np.load(out / "img01.npy").shape == (50, 47, 1)  # grey stored once


def test_training_crops_from_npy_equal_crops_from_png(pngs):
    def patches(folder: Path) -> list[torch.Tensor]:
        torch.manual_seed(7)  # seeds the crop and flip/rotation stream
        dataset = TrainPatches(list_images([folder]), scale=3, patch_size=8, length=12, cache=False)
        return [dataset[i]["hr"] for i in range(len(dataset))]

    expected, got = patches(pngs), patches(convert(pngs, workers=1))
    assert all(torch.equal(a, b) for a, b in zip(expected, got)) and len(got) == 12


def test_tiles_cover_the_image_and_equal_its_crops(pngs):
    assert tile_corners(61, 75, 32, 16) == [(t, left) for t in (0, 16, 29) for left in (0, 16, 32, 43)]
    assert tile_corners(20, 100, 32, 16)[:2] == [(0, 0), (0, 16)]  # a short side: one tile row as tall as it
    out = convert(pngs, tile=32, step=16)
    assert out == pngs.with_name("png_npy_tile32_step16")
    img, _ = read_image(pngs / "img00.png")
    for k, (top, left) in enumerate(tile_corners(61, 75, 32, 16)):
        assert np.array_equal(np.load(out / f"img00_t{k:03d}.npy"), img[top : top + 32, left : left + 32])
    assert len(list(out.glob("img00_*.npy"))) == 12


def test_convert_skips_when_done_and_finishes_an_interrupted_run(pngs, tmp_path):
    work = tmp_path / ".png_npy.converting"
    work.mkdir()
    np.save(work / "img00.npy", np.zeros((2, 2, 3), np.uint8))  # left by an interrupted run: kept
    out = convert(pngs)
    assert np.load(out / "img00.npy").shape == (2, 2, 3) and np.load(out / "img02.npy").shape == (66, 58, 3)
    (pngs / "img02.png").unlink()
    assert convert(pngs) == out and (out / "img02.npy").exists()  # done: the images are not read again


def test_read_image_names_a_bad_npy_file(tmp_path):
    np.save(tmp_path / "floats.npy", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(OSError, match="floats.npy"):
        read_image(tmp_path / "floats.npy")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(OSError, match="empty.npy"):
        read_image(tmp_path / "empty.npy")


def test_prepare_command_downloads_and_converts(server, monkeypatch, tmp_path, capsys):
    folder = write_images(tmp_path / "src", photo_crops([(40, 44)] * 2, seed=6))
    body = tar_of({f"DIV2K_train_HR/{p.name}": p for p in list_images([folder])})
    serve_locally(
        monkeypatch, ["div2k"], Archive(server.serve("DIV2K_train_HR.tar", body)), {"DIV2K/DIV2K_train_HR": 2}
    )
    root = tmp_path / "data"
    main(["div2k", "--root", str(root)])
    out = root / "DIV2K" / "DIV2K_train_HR_npy"
    assert str(out) in capsys.readouterr().out
    for png, npy in zip(list_images([folder]), list_images([out])):
        assert np.array_equal(read_image(png)[0], read_image(npy)[0])

    main(["div2k", "--root", str(tmp_path / "other"), "--no-npy"])  # download only
    assert sorted(p.name for p in (tmp_path / "other" / "DIV2K").iterdir()) == ["DIV2K_train_HR"]
