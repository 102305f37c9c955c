"""`python upscale.py`: loading nets from checkpoints, tiled inference, self-ensemble, image files in kind."""

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from test_export import HalfThenQuadruple, trained_looking

from conftest import ROOT, compose_train, photo_crops, run_cli, tiny_overrides
from srlab.cli.checkpoint import load_net
from srlab.cli.train import train
from srlab.cli.upscale import runtime_net, upscale
import srlab.inference.writer
from srlab.inference import (
    OnnxRuntimeNet,
    RGBUpscaler,
    background_writer,
    png_writer,
    read_image,
    self_ensemble,
    tile_count,
    to_levels,
    upscale_bands,
    write_image,
)
from srlab.inference.fast import fast_net
from srlab.models import FSRCNN, SRCNN, Bicubic
from srlab.ops import imresize

FSRCNN_CONFIG = {"_target_": "srlab.models.FSRCNN", "scale": 3, "d": 16, "s": 8, "m": 2}


RUN_DIRS = tempfile.TemporaryDirectory(prefix="srlab-upscale-runs-")  # removed when the tests end


def compose_upscale(overrides: list[str]):
    """The composed `upscale` config, as `python upscale.py <overrides>` would see it, with a run
    directory of its own (so a test passes alone as in the suite)."""
    return compose_train(overrides, Path(tempfile.mkdtemp(dir=RUN_DIRS.name)), config_name="upscale")


def save_checkpoint(path, net, net_config, prefix="net.", **extra):
    """A checkpoint laid out as train.py writes them: the system's state dict and the net's config."""
    state = {f"{prefix}{k}": v for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "net_config": net_config, **extra}, path)
    return path


def to_tensor(img: np.ndarray, peak: float = 255.0) -> torch.Tensor:
    """(h, w, 3) RGB or (h, w) grey array -> (1, 3, h, w) float RGB in [0, 1]."""
    x = torch.from_numpy(img.astype(np.float32) / peak)
    return x.expand(3, -1, -1)[None] if x.ndim == 2 else x.permute(2, 0, 1)[None]


def quantise(x: torch.Tensor, peak: float = 255.0) -> np.ndarray:
    """(1, C, H, W) in [0, 1] -> (H, W, C) levels, as the CLI writes them (before BGR order)."""
    return x[0].clamp(0, 1).mul(peak).round().permute(1, 2, 0).numpy()


def read_rgb(path) -> np.ndarray:
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float64)
    return arr[..., [2, 1, 0, 3][: arr.shape[-1]]] if arr.ndim == 3 else arr


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict:
    """A folder with an 8-bit RGB PNG, a grey PNG, an RGBA PNG, a 16-bit RGB PNG and a JPEG."""
    folder = tmp_path_factory.mktemp("photos")
    rgb, grey, rgba, deep, jpeg = photo_crops([(29, 37), (33, 26), (24, 30), (27, 31), (30, 30)], seed=3)
    grey = grey.mean(axis=2).round().astype(np.uint8)
    alpha = np.linspace(0, 255, rgba.shape[1]).round().astype(np.uint8)[None, :].repeat(rgba.shape[0], 0)
    rgba = np.dstack([rgba, alpha])
    deep = deep.astype(np.uint16) * 257 + np.random.default_rng(0).integers(0, 257, deep.shape, dtype=np.uint16)
    images = {"rgb.png": rgb, "grey.png": grey, "rgba.png": rgba, "deep.png": deep}
    for name, img in images.items():
        cv2.imwrite(str(folder / name), img if img.ndim == 2 else img[..., [2, 1, 0, 3][: img.shape[-1]]])
    cv2.imwrite(str(folder / "photo.jpg"), jpeg[..., ::-1])
    images["photo.jpg"] = read_rgb(folder / "photo.jpg")  # what the JPEG decodes to
    return {"folder": folder, "images": images}


# --- tiling -------------------------------------------------------------------------------------


def joined_bands(*args, **kwargs) -> torch.Tensor:
    """The bands of `upscale_bands(*args, **kwargs)` joined into the whole SR image."""
    return torch.cat(list(upscale_bands(*args, **kwargs)), dim=-2)


@pytest.mark.parametrize(
    "net, overlap",
    [(FSRCNN(3), 10), (SRCNN(3, kernel_sizes=(9, 5, 5)), 6)],  # overlap >= receptive field (LR pixels)
    ids=["fsrcnn", "srcnn_pre_upsampled"],
)
@pytest.mark.parametrize("tile", [16, 200])  # 45x58 is no multiple of 16; 200 is larger than the image
def test_tiled_equals_untiled(net, overlap, tile):
    upscaler = RGBUpscaler(trained_looking(net))
    lr = to_tensor(photo_crops([(45, 58)], seed=5)[0])
    calls = []
    with torch.no_grad():
        whole = upscaler(lr)
        tiled = joined_bands(upscaler, lr, 3, tile, overlap, progress=lambda: calls.append(1))
        torch.testing.assert_close(tiled, whole, atol=1e-4, rtol=0)
        assert len(calls) == tile_count(45, 58, tile)
        if tile < 45:  # the test can fail: without context the seams differ
            assert (joined_bands(upscaler, lr, 3, tile, 0) - whole).abs().max() > 1e-2


def test_bands_are_the_rows_of_tiles_in_the_dtype_of_fn():
    lr = torch.rand(1, 3, 45, 58)
    levels = upscale_bands(lambda x: to_levels(imresize(x, 2)), lr, 2, tile=16, overlap=4)
    bands = list(levels)
    assert [tuple(b.shape) for b in bands] == [(1, 3, 32, 116), (1, 3, 32, 116), (1, 3, 26, 116)]
    assert all(b.dtype == torch.uint8 for b in bands)
    torch.testing.assert_close(torch.cat(bands, dim=-2), to_levels(imresize(lr, 2)), atol=1, rtol=0)


def test_tiling_checks_its_arguments():
    with pytest.raises(ValueError, match="tile must be"):
        joined_bands(lambda x: x, torch.rand(1, 3, 8, 8), 1, tile=0)
    with pytest.raises(ValueError, match="not 12x12 .scale 2."):
        joined_bands(lambda x: x, torch.rand(1, 3, 8, 8), 2, tile=4, overlap=2)


# --- self-ensemble ------------------------------------------------------------------------------


def test_self_ensemble_of_an_equivariant_fn_is_the_fn():
    k = torch.randn(5, 5)
    k = sum(torch.rot90(t, r) for t in (k, k.flip(0)) for r in range(4)) / 8  # invariant under flips, rotations
    weight = k.expand(3, 1, 5, 5)

    def symmetric(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, padding=2, groups=3)

    x = torch.rand(2, 3, 13, 17)
    torch.testing.assert_close(self_ensemble(symmetric)(x), symmetric(x), atol=1e-5, rtol=0)
    bicubic = RGBUpscaler(Bicubic(3))  # MATLAB's bicubic is symmetric too
    torch.testing.assert_close(self_ensemble(bicubic)(x), bicubic(x), atol=1e-5, rtol=0)


def test_self_ensemble_is_the_mean_over_the_eight_transforms():
    upscaler = RGBUpscaler(trained_looking(FSRCNN(2, d=16, s=8, m=1)))
    x = torch.rand(1, 3, 11, 14)

    def t(x):
        return x.transpose(-2, -1)

    def h(x):
        return x.flip(-1)

    def v(x):
        return x.flip(-2)

    # The dihedral group as (transform, its inverse), written with transposes rather than rotations.
    group = [
        (lambda x: x, lambda x: x),
        (h, h),
        (v, v),
        (lambda x: v(h(x)), lambda x: v(h(x))),
        (t, t),
        (lambda x: h(t(x)), lambda x: t(h(x))),
        (lambda x: v(t(x)), lambda x: t(v(x))),
        (lambda x: h(v(t(x))), lambda x: t(v(h(x)))),
    ]
    with torch.no_grad():
        by_hand = sum(inverse(upscaler(g(x))) for g, inverse in group) / 8
        ensembled = self_ensemble(upscaler)(x)
        assert (ensembled - upscaler(x)).abs().max() > 1e-2  # the net is not equivariant
    torch.testing.assert_close(ensembled, by_hand, atol=1e-5, rtol=0)


# --- image files ----------------------------------------------------------------------------------


def test_images_round_trip_in_kind(photos, tmp_path):
    for name in ("grey.png", "deep.png", "rgba.png"):
        image = read_image(photos["folder"] / name)
        write_image(tmp_path / name, image.rgb, image.alpha, grey=image.grey, bits=image.bits)
        before = cv2.imread(str(photos["folder"] / name), cv2.IMREAD_UNCHANGED)
        after = cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
        assert after.dtype == before.dtype and np.array_equal(after, before), name
    assert read_image(photos["folder"] / "grey.png").grey and read_image(photos["folder"] / "deep.png").bits == 16


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("bits", [8, 16])
def test_png_writer_streams_bands_of_any_height(channels, bits, tmp_path):
    dtype = np.uint8 if bits == 8 else np.uint16
    pixels = np.random.default_rng(channels).integers(0, 2**bits, (37, 29, channels), dtype=dtype)
    pixels[:9] = pixels[0, 0]  # flat rows too, where the filter's predictions are exact
    with png_writer(tmp_path / "x.png", 37, 29, channels, bits) as png:
        for top, bottom in [(0, 1), (1, 20), (20, 37)]:
            png.write(pixels[top:bottom])
    with Image.open(tmp_path / "x.png") as image:  # a decoder other than the one our files are read with
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels] if bits == 8 else None
        if mode:
            assert image.mode == mode and np.array_equal(np.asarray(image).reshape(pixels.shape), pixels)
    if channels != 2:  # OpenCV reads grey + alpha as BGRA
        back = read_rgb(tmp_path / "x.png").reshape(pixels.shape)
        assert cv2.imread(str(tmp_path / "x.png"), cv2.IMREAD_UNCHANGED).dtype == dtype
        assert np.array_equal(back, pixels)


def test_png_writer_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "x.png"
    target.write_bytes(b"an older result")
    rows = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match="x.png: 4 of the image's 8 rows were written"):
        with png_writer(target, 8, 5, 3, 8) as png:
            png.write(rows)
    with pytest.raises(RuntimeError, match="interrupted"):
        with png_writer(target, 8, 5, 3, 8) as png:
            png.write(rows)
            assert (tmp_path / "x.png.partial").exists()
            raise RuntimeError("interrupted")
    with pytest.raises(ValueError, match=r"x.png: rows of \(4, 5, 3\) uint16 for a PNG of \(n, 5, 3\) uint8"):
        with png_writer(target, 8, 5, 3, 8) as png:
            png.write(rows.astype(np.uint16))
    assert target.read_bytes() == b"an older result" and sorted(tmp_path.iterdir()) == [target]


def test_background_writer_raises_the_writers_errors_in_the_block(tmp_path):
    target = tmp_path / "x.png"
    rows = np.zeros((4, 5, 3), np.uint8)
    with pytest.raises(ValueError, match=r"x.png: rows of \(4, 5, 3\) uint16"):
        with png_writer(target, 8, 5, 3, 8) as png, background_writer(png.write, target) as write:
            write(rows.astype(np.uint16))
            write(rows)  # raises here if the thread has failed already, else the block's end does

    def fail(item: int) -> None:
        raise RuntimeError("no luck")

    with pytest.raises(OSError, match="x.png: writing failed: RuntimeError: no luck"):  # named when it did not
        with background_writer(fail, target) as write:
            write(1)
    written = []
    with pytest.raises(RuntimeError, match="interrupted"):  # the block's error stops the thread
        with png_writer(target, 8, 5, 3, 8) as png, background_writer(written.append, target, depth=1) as write:
            write(rows)
            raise RuntimeError("interrupted")
    assert len(written) <= 1 and not any(tmp_path.iterdir())
    assert not [t.name for t in threading.enumerate() if t.name.startswith("writer of")]


# --- checkpoints --------------------------------------------------------------------------------


def test_load_net_prefers_the_ema_weights(tmp_path):
    plain = trained_looking(FSRCNN(3, d=16, s=8, m=2), seed=1)
    averaged = trained_looking(FSRCNN(3, d=16, s=8, m=2), seed=2)
    state = {f"net.{k}": v for k, v in plain.state_dict().items()}
    state |= {f"net_ema.{k}": v for k, v in averaged.state_dict().items()}
    torch.save({"state_dict": state, "net_config": FSRCNN_CONFIG}, tmp_path / "gan.ckpt")
    loaded = load_net(tmp_path / "gan.ckpt")
    assert isinstance(loaded, FSRCNN) and not loaded.training
    torch.testing.assert_close(loaded.state_dict(), averaged.state_dict(), atol=0, rtol=0)
    loaded = load_net(save_checkpoint(tmp_path / "plain.ckpt", plain, FSRCNN_CONFIG))
    torch.testing.assert_close(loaded.state_dict(), plain.state_dict(), atol=0, rtol=0)


def test_load_net_errors_name_the_file(tmp_path):
    net = FSRCNN(3, d=16, s=8, m=2)
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n not a checkpoint")
    torch.save({"state_dict": {}}, tmp_path / "old.ckpt")
    torch.save([net.state_dict()], tmp_path / "list.ckpt")
    cases = {
        tmp_path / "missing.ckpt": "missing.ckpt does not exist",
        tmp_path / "photo.png": "photo.png is not a PyTorch checkpoint",
        tmp_path / "list.ckpt": "list.ckpt is not a Lightning checkpoint",
        tmp_path / "old.ckpt": "old.ckpt has no net_config",
        save_checkpoint(tmp_path / "shell.ckpt", net, {"_target_": "os.system", "command": "true"}): (
            "shell.ckpt: _target_ 'os.system' is not an nn.Module class"
        ),
        save_checkpoint(tmp_path / "other.ckpt", net, FSRCNN_CONFIG | {"d": 24}): "other.ckpt: the weights under",
    }
    for path, message in cases.items():
        with pytest.raises((FileNotFoundError, TypeError, ValueError), match=message):
            load_net(path)


@pytest.fixture(scope="module")
def trained_checkpoint(tiny_data, tmp_path_factory):
    """best.ckpt of a seconds-long FSRCNN x2 run of train.py."""
    out = tmp_path_factory.mktemp("train")
    cfg = compose_train([*tiny_overrides(tiny_data, out), "model=fsrcnn", "data.scale=2"], out / "run")
    train(cfg)
    return out / "run" / "checkpoints" / "best.ckpt"


def test_upscale_py_with_a_checkpoint_of_train_py(trained_checkpoint, photos, tmp_path):
    saved = torch.load(trained_checkpoint, weights_only=True)["state_dict"]
    net = load_net(trained_checkpoint)
    assert isinstance(net, FSRCNN) and net.scale == 2
    torch.testing.assert_close(net.state_dict(), {k[4:]: v for k, v in saved.items() if k.startswith("net.")})

    args = [f"ckpt_path={trained_checkpoint}", f"input={photos['folder'] / 'rgb.png'}", f"output={tmp_path / 'out'}"]
    proc = run_cli("upscale.py", [*args, f"paths.log_dir={tmp_path / 'logs'}"])
    assert "rgb.png (37x29)" in proc.stdout and "(74x58)" in proc.stdout  # the time per image is printed
    lr = to_tensor(photos["images"]["rgb.png"])
    with torch.no_grad():
        expected = quantise(RGBUpscaler(net)(lr))
    assert np.abs(read_rgb(tmp_path / "out" / "rgb.png") - expected).max() <= 1


# --- the upscale CLI ------------------------------------------------------------------------------


def test_every_kind_of_image_with_bicubic(photos, tmp_path):
    folder, images = photos["folder"], photos["images"]
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    cfg = compose_upscale(["model=bicubic", "data.scale=2", f"input={folder}", f"output={tmp_path}", "tile=16"])
    written = upscale(cfg)
    assert sorted(p.name for p in written) == ["deep.png", "grey.png", "photo.png", "rgb.png", "rgba.png"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # inputs untouched
    for name, img in images.items():
        out = cv2.imread(str(tmp_path / name.replace(".jpg", ".png")), cv2.IMREAD_UNCHANGED)
        peak = 65535.0 if name == "deep.png" else 255.0
        assert out.dtype == (np.uint16 if name == "deep.png" else np.uint8), name
        assert out.shape[:2] == (2 * img.shape[0], 2 * img.shape[1]), name
        assert out.ndim == img.ndim and (out.ndim == 2 or out.shape[2] == img.shape[2]), name  # grey, RGB, RGBA
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / peak)
        x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
        expected = quantise(imresize(x, 2), peak)  # every channel, alpha included, is MATLAB bicubic here
        got = read_rgb(tmp_path / name.replace(".jpg", ".png"))
        assert np.abs(got.reshape(expected.shape) - expected).max() <= (2 if peak > 255 else 1), name


def test_y_net_merges_bicubic_cbcr_and_grey_stays_grey(photos, tmp_path):
    net = trained_looking(FSRCNN(3, d=16, s=8, m=2))
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", net, FSRCNN_CONFIG)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("rgb.png", "grey.png"):
        (folder / name).write_bytes((photos["folder"] / name).read_bytes())
    base = [f"ckpt_path={ckpt}", "overlap=12"]
    upscale(compose_upscale([*base, "tile=16", f"input={folder}", f"output={tmp_path / 'plain'}"]))
    plus = [*base, "tile=null", "self_ensemble=true", f"input={folder / 'rgb.png'}", f"output={tmp_path / 'plus'}"]
    upscale(compose_upscale(plus))
    sr = RGBUpscaler(net)
    for out, name, forward in [
        ("plain", "rgb.png", sr),
        ("plain", "grey.png", sr),
        ("plus", "rgb.png", self_ensemble(sr)),
    ]:
        with torch.no_grad():
            expected = quantise(forward(to_tensor(photos["images"][name])))
        got = read_rgb(tmp_path / out / name)
        if name == "grey.png":  # written back as one channel; the three channels of the result agree
            assert got.ndim == 2 and np.abs(expected[..., 0] - expected[..., 2]).max() <= 1
            expected = expected[..., 1]
        assert np.abs(got - expected).max() <= 1, (out, name)
    assert np.abs(read_rgb(tmp_path / "plain/rgb.png") - read_rgb(tmp_path / "plus/rgb.png")).max() > 2


def test_streamed_tiles_equal_untiled_inference(photos, tmp_path):
    """The file written tile by tile and band by band holds the levels of the whole image's SR (by the
    same fast net that upscale.py runs: its rewrites move float rounding, which may flip a level)."""
    net = trained_looking(FSRCNN(3, d=16, s=8, m=2))
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", net, FSRCNN_CONFIG)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("rgb.png", "grey.png", "rgba.png", "deep.png"):
        (folder / name).write_bytes((photos["folder"] / name).read_bytes())
    upscale(compose_upscale([f"ckpt_path={ckpt}", "tile=16", "overlap=12", f"input={folder}", f"output={tmp_path}"]))
    for name in ("rgb.png", "grey.png", "rgba.png", "deep.png"):
        image = read_image(folder / name)
        with torch.no_grad():
            alpha = None if image.alpha is None else imresize(image.alpha, 3)
            whole = to_levels(RGBUpscaler(fast_net(net))(image.rgb), alpha, grey=image.grey, bits=image.bits)
        expected = whole[0].permute(1, 2, 0).numpy()
        got = read_rgb(tmp_path / name).reshape(expected.shape)
        assert got.shape[:2] == (3 * image.rgb.shape[-2], 3 * image.rgb.shape[-1]), name
        if image.bits == 8:
            assert np.array_equal(got, expected), name
        else:  # float rounding in tile-sized convolutions moves a few of the 65535 levels by one
            assert np.abs(got - expected).max() <= 1 and (got != expected).mean() < 1e-3, name
    assert not list(tmp_path.glob("*.partial"))


def test_overlapped_decoding_and_encoding_write_the_sequential_files(photos, tmp_path):
    """io_threads=true (decoding ahead, PNG-encoding in a thread) writes the bytes of one step after another."""
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", trained_looking(FSRCNN(3, d=16, s=8, m=2)), FSRCNN_CONFIG)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("rgb.png", "rgba.png", "deep.png"):
        (folder / name).write_bytes((photos["folder"] / name).read_bytes())
    args = [f"ckpt_path={ckpt}", "tile=8", "overlap=4", f"input={folder}"]
    upscale(compose_upscale([*args, "io_threads=true", f"output={tmp_path / 'overlapped'}"]))
    upscale(compose_upscale([*args, f"output={tmp_path / 'sequential'}"]))
    for name in ("rgb.png", "rgba.png", "deep.png"):
        assert (tmp_path / "overlapped" / name).read_bytes() == (tmp_path / "sequential" / name).read_bytes(), name
    with pytest.raises(ValueError, match="io_threads=yes: expected true or false"):
        upscale(compose_upscale([*args, "io_threads=yes", f"output={tmp_path / 'bad'}"]))


def test_a_decoding_error_ahead_stops_at_its_image(photos, tmp_path):
    """Image 2 of 3 is corrupt: image 1 is written, then the decoder's own error names image 2."""
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    good = (photos["folder"] / "rgb.png").read_bytes()
    (folder / "a.png").write_bytes(good)
    (folder / "b.png").write_bytes(good[: len(good) // 2])
    (folder / "c.png").write_bytes(good)
    with pytest.raises(OSError) as direct:
        read_image(folder / "b.png")
    with pytest.raises(type(direct.value), match="b.png") as raised:
        upscale(compose_upscale(["model=bicubic", "data.scale=2", "io_threads=true", f"input={folder}", f"output={out}"]))
    assert str(raised.value) == str(direct.value)
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    assert not [t.name for t in threading.enumerate() if t.name.startswith(("decode", "writer of"))]


def test_a_write_error_in_the_writer_thread_names_the_file(photos, tmp_path, monkeypatch):
    def disk_full(self, rows: np.ndarray) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(srlab.inference.writer.PNGEncoder, "write", disk_full)
    out = tmp_path / "out"
    cfg = compose_upscale(["model=bicubic", "data.scale=2", "tile=8", "io_threads=true", f"input={photos['folder']}",
                           f"output={out}"])  # fmt: skip
    with pytest.raises(OSError, match=r"deep.png: writing failed: OSError: \[Errno 28\] No space left"):
        upscale(cfg)
    assert not any(out.iterdir())


def test_export_from_the_command_line(tmp_path):
    import onnxruntime

    net = trained_looking(FSRCNN(3, d=16, s=8, m=2))
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", net, FSRCNN_CONFIG)
    lr = torch.rand(1, 3, 20, 27)
    with torch.no_grad():
        expected = RGBUpscaler(net)(lr)
    (onnx_path,) = upscale(compose_upscale([f"ckpt_path={ckpt}", "export=onnx", f"output={tmp_path / 'x3.onnx'}"]))
    (sr,) = onnxruntime.InferenceSession(str(onnx_path)).run(None, {"lr": lr.numpy()})
    np.testing.assert_allclose(sr, expected.numpy(), atol=1e-4)
    (ts_path,) = upscale(compose_upscale([f"ckpt_path={ckpt}", "export=torchscript", f"output={tmp_path / 'x3.pt'}"]))
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(ts_path))(lr), expected, atol=1e-4, rtol=0)


def test_onnxruntime_writes_the_levels_of_pytorch(photos, tmp_path):
    """runtime=onnxruntime (the net in ONNX Runtime, tiled) writes the files of runtime=torch, up to a level
    that float rounding may flip; a pre-upsampled net keeps every scale it can switch to."""
    net = trained_looking(FSRCNN(3, d=16, s=8, m=2))
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", net, FSRCNN_CONFIG)
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("rgb.png", "rgba.png", "grey.png"):
        (folder / name).write_bytes((photos["folder"] / name).read_bytes())
    args = [f"ckpt_path={ckpt}", "tile=16", "overlap=12", f"input={folder}"]
    upscale(compose_upscale([*args, "runtime=onnxruntime", "threads=1", f"output={tmp_path / 'ort'}"]))
    upscale(compose_upscale([*args, f"output={tmp_path / 'torch'}"]))
    for name in ("rgb.png", "rgba.png", "grey.png"):
        ort, plain = read_rgb(tmp_path / "ort" / name), read_rgb(tmp_path / "torch" / name)
        assert ort.shape == plain.shape and np.abs(ort.astype(int) - plain).max() <= 1, name
        assert (ort != plain).mean() < 1e-3, name
    srcnn = OnnxRuntimeNet(trained_looking(SRCNN(3, num_features=(16, 8), kernel_sizes=(9, 5, 5))))
    assert srcnn.run_scales == () and srcnn.pre_upsampled and srcnn(torch.rand(1, 1, 30, 20)).shape == (1, 1, 30, 20)
    assert OnnxRuntimeNet(net).run_scales == (3,)


def test_onnxruntime_refuses_what_it_cannot_run(photos, tmp_path):
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", FSRCNN(3, d=16, s=8, m=2), FSRCNN_CONFIG)
    io = [f"ckpt_path={ckpt}", f"input={photos['folder']}", f"output={tmp_path / 'out'}"]
    for overrides, message in [
        (["runtime=tensorrt"], "runtime=tensorrt: expected torch or onnxruntime"),
        (["runtime=onnxruntime", "precision=bf16"], "runtime=onnxruntime runs in float32: give precision=32"),
    ]:
        with pytest.raises(ValueError, match=message):
            upscale(compose_upscale([*io, *overrides]))
    with pytest.raises(RuntimeError, match="HalfThenQuadruple.*imresize.*runtime=torch"):
        OnnxRuntimeNet(HalfThenQuadruple())
    assert not (tmp_path / "out").exists()
    chosen = runtime_net(FSRCNN(3, d=16, s=8, m=2), compose_upscale([*io, "runtime=onnxruntime"]), fast=True)
    assert isinstance(chosen, OnnxRuntimeNet) and chosen.net_name == "FSRCNN"


def test_bad_options_are_named(photos, tmp_path):
    folder = photos["folder"]
    ckpt = save_checkpoint(tmp_path / "fsrcnn.ckpt", FSRCNN(3, d=16, s=8, m=2), FSRCNN_CONFIG)
    clash = tmp_path / "clash"
    clash.mkdir()
    for name in ("a.png", "a.jpg"):
        cv2.imwrite(str(clash / name), photos["images"]["rgb.png"])
    io = [f"input={folder}", f"output={tmp_path / 'out'}"]
    cases = [
        (io, "no network: give ckpt_path"),
        (["model=fsrcnn", "data.scale=3", *io], "FSRCNN has .* parameters to learn: give its ckpt_path"),
        (["model=bicubic", *io], "needs data.scale"),
        ([f"ckpt_path={ckpt}", "model=bicubic", *io], "not both"),
        ([f"ckpt_path={ckpt}", "data.scale=2", *io], "fsrcnn.ckpt, data.scale=2: FSRCNN built at x3 cannot produce x2"),
        ([f"ckpt_path={ckpt}", f"input={folder}", f"output={folder}"], "is the input folder"),
        ([f"ckpt_path={ckpt}", f"input={folder / 'rgb.png'}", f"output={folder}"], "is the input folder"),
        ([f"ckpt_path={ckpt}", f"input={tmp_path / 'nothing'}", f"output={tmp_path}"], "nothing does not exist"),
        ([f"ckpt_path={ckpt}", f"input={clash}", f"output={tmp_path}"], "a.jpg and .*a.png would both be written"),
        ([f"ckpt_path={ckpt}", *io, "precision=8"], "precision=8: expected"),
        ([f"ckpt_path={ckpt}", *io, "tile=0"], "tile=0: expected a positive"),
        ([f"ckpt_path={ckpt}", *io, "overlap=-1"], "overlap=-1: expected"),
        ([f"ckpt_path={ckpt}", *io, "device=tpu"], "device=tpu"),
        ([f"ckpt_path={ckpt}", "export=onnx"], "export=onnx needs output"),
        ([f"ckpt_path={ckpt}", "export=tflite", f"output={tmp_path / 'm'}"], "export=tflite: expected onnx or"),
    ]
    for overrides, message in cases:
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            upscale(compose_upscale(overrides))
    assert not (tmp_path / "out").exists()  # nothing was started


@pytest.mark.slow
def test_peak_memory_of_a_large_upscale_is_bounded():
    """FSRCNN x4 on 1500x1500: a 6000x6000 output at 1.07 GB peak (2.37 GB when the whole float SR was kept)."""
    command = [sys.executable, str(ROOT / "scripts" / "bench_upscale_memory.py"), "--size", "1500"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["returncode"] == 0 and result["peak_bytes"] < 1.5e9, result
