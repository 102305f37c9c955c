"""`python upscale.py`: super-resolve image files with a trained net (tiled, optionally self-ensembled), or export it.

Images are upscaled tile by tile and written as PNG one row of tiles at a time, so memory does not
grow with the output's size; a result appears only when complete, and existing ones are kept unless asked.
"""

import logging
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import torch
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import Tensor, nn

from srlab.cli.checkpoint import fetch_checkpoint, load_net, net_from_config, pretrained_net
from srlab.cli.config import instantiate_all
from srlab.cli.runtime import keep_freed_memory, set_threads
from srlab.cli.tracking import wandb_loggers
from srlab.inference import (
    DecodedImage,
    OnnxRuntimeNet,
    RGBUpscaler,
    background_writer,
    export_metadata,
    export_onnx,
    export_torchscript,
    list_images,
    png_writer,
    read_image,
    self_ensemble,
    tile_count,
    to_levels,
    upscale_bands,
)
from srlab.inference.fast import fast_net
from srlab.models.contract import check_scale
from srlab.ops import imresize

log = logging.getLogger(__name__)
AUTOCAST = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}
EXPORTERS = {"onnx": export_onnx, "torchscript": export_torchscript}
UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
# float32 planes of a tile's SR size alive at once in `RGBUpscaler` and `to_levels` (bicubic RGB,
# the net's Y, YCbCr, the merged RGB and its levels): measured 15 for FSRCNN x4 on whole images
# (61 bytes per output pixel; bicubic 11), with room for what the allocator keeps between tiles.
TILE_FLOAT_PLANES = 20


def upscale(cfg: DictConfig) -> list[Path]:
    """Super-resolve `cfg.input` into the folder `cfg.output`, or export the net (`cfg.export`).

    Returns the files written (without those that `skip_existing` skipped). A logger (`logger=wandb`) gets
    the config, the checkpoint used and the number of images written.
    """
    set_threads(cfg.get("threads"))
    keep_freed_memory()
    loggers = instantiate_all(cfg.get("logger"))
    options = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k not in ("model", "logger")]))
    if cfg.get("model"):  # only its net: the model config holds training's interpolations
        options["net"] = cfg.model.net
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(OmegaConf.create(options), resolve=True))
    net = build_net(cfg, loggers)
    overwrite, skip_existing = flag(cfg, "overwrite"), flag(cfg, "skip_existing")
    if overwrite and skip_existing:
        raise ValueError("overwrite=true and skip_existing=true: give one, to replace or to skip existing outputs")
    fast = flag(cfg, "fast")
    if cfg.get("export"):
        return [export(fast_net(net, eager=False) if fast else net, cfg, overwrite, skip_existing)]
    written = _upscale_all(cfg, runtime_net(net, cfg, fast), overwrite, skip_existing)
    for logger in loggers:
        logger.log_metrics({"upscale/images": len(written)})
    for logger in wandb_loggers(loggers):
        logger.experiment.finish()
    return written


def runtime_net(net: nn.Module, cfg: DictConfig, fast: bool) -> nn.Module:
    """The net as `cfg.runtime` runs it: PyTorch (with the exact rewrites if `fast`), or ONNX Runtime."""
    runtime = str(cfg.get("runtime", "torch"))
    if runtime == "torch":
        return fast_net(net) if fast else net
    if runtime != "onnxruntime":
        raise ValueError(f"runtime={runtime}: expected torch or onnxruntime")
    if pick_device(str(cfg.device)).type != "cpu":
        raise ValueError(f"runtime=onnxruntime runs on the CPU: give device=cpu (device={cfg.device}), or runtime=torch")
    if str(cfg.precision) not in ("auto", "32"):
        raise ValueError(f"runtime=onnxruntime runs in float32: give precision=32 (precision={cfg.precision})")
    return OnnxRuntimeNet(fast_net(net, eager=False) if fast else net, cfg.get("threads"))


def _upscale_all(cfg: DictConfig, net: nn.Module, overwrite: bool, skip_existing: bool) -> list[Path]:
    """Upscale every image of `cfg.input` with `net` into `cfg.output`, tile by tile; the files written."""
    jobs = plan(cfg.get("input"), cfg.get("output"))
    tile, overlap = cfg.get("tile"), cfg.get("overlap")
    if tile is not None and not (isinstance(tile, int) and tile > 0):
        raise ValueError(f"tile={tile}: expected a positive number of LR pixels, or null for whole images")
    if not (isinstance(overlap, int) and overlap >= 0):
        raise ValueError(f"overlap={overlap}: expected a number of LR pixels >= 0")
    max_memory = parse_size(cfg.get("max_memory"), "max_memory")
    io_threads = flag(cfg, "io_threads")
    todo = drop_existing(jobs, overwrite, skip_existing)
    device = pick_device(str(cfg.device))
    upscaler = RGBUpscaler(net, autocast=autocast_dtype(str(cfg.precision), device)).to(device).eval()
    forward = self_ensemble(upscaler) if cfg.get("self_ensemble") else upscaler

    def run(lr: Tensor) -> Tensor:
        sr = forward(lr.to(device)).cpu()
        if not torch.isfinite(sr).all():
            raise FloatingPointError(f"the net's output is not finite at precision={cfg.precision}; try precision=32")
        return sr

    Path(cfg.output).mkdir(parents=True, exist_ok=True)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()
    )
    with progress, torch.inference_mode(), ThreadPoolExecutor(1, thread_name_prefix="decode") as decoder:
        if len(todo) < len(jobs):
            log.info("skip_existing=true: %d of %d outputs exist already", len(jobs) - len(todo), len(jobs))
        images = progress.add_task("images", total=len(todo))
        paths = [src for src, _ in todo]
        decoded = decoded_ahead(paths, decoder) if io_threads else map(read_image, paths)
        for (src, dst), image in zip(todo, decoded, strict=True):
            h, w = image.rgb.shape[-2:]
            if max_memory is not None:
                check_memory(src, image, upscaler.scale, tile, overlap, max_memory, cfg.max_memory)
            tiles = progress.add_task(f"  {src.name}", total=tile_count(h, w, tile))
            start = time.perf_counter()
            try:
                advance = partial(progress.advance, tiles)
                write_upscaled(dst, image, run, upscaler.scale, tile, overlap, advance, io_threads)
            except FloatingPointError as err:
                raise FloatingPointError(f"{src}: {err}") from err
            seconds = time.perf_counter() - start
            progress.remove_task(tiles)
            progress.advance(images)
            size = f"{upscaler.scale * w}x{upscaler.scale * h}"
            log.info("%s (%dx%d) -> %s (%s) in %.2f s", src, w, h, dst, size, seconds)
    return [dst for _, dst in todo]


def decoded_ahead(paths: list[Path], decoder: ThreadPoolExecutor) -> Iterator[DecodedImage]:
    """`read_image` of each of `paths` in turn, the next one decoded by `decoder` while this one is used.

    At most one image is decoded ahead; a decoding error is raised when its image is asked for.
    """
    following: Future[DecodedImage] | None = decoder.submit(read_image, paths[0]) if paths else None
    for index in range(len(paths)):
        image = following.result()
        following = decoder.submit(read_image, paths[index + 1]) if index + 1 < len(paths) else None
        yield image


def write_upscaled(
    dst: Path,
    image: DecodedImage,
    run: Callable[[Tensor], Tensor],
    scale: int,
    tile: int | None,
    overlap: int,
    advance: Callable[[], None],
    io_thread: bool = False,
) -> None:
    """Upscale `image` tile by tile into the PNG `dst`, one row of tiles at a time.

    Each tile becomes file levels (colour merge, grey, alpha, bits) at once, so neither the float SR
    nor the whole file's pixels are ever in memory; with `io_thread`, a thread PNG-encodes each row
    while the next is computed. `dst` appears only when complete.
    """
    lr = image.rgb if image.alpha is None else torch.cat([image.rgb, image.alpha], dim=1)

    def levels(crop: Tensor) -> Tensor:
        alpha = imresize(crop[:, 3:], scale) if crop.shape[1] == 4 else None
        return to_levels(run(crop[:, :3]), alpha, grey=image.grey, bits=image.bits)

    h, w = lr.shape[-2:]
    channels = (1 if image.grey else 3) + (image.alpha is not None)
    with (
        png_writer(dst, scale * h, scale * w, channels, image.bits) as png,
        background_writer(png.write, dst) if io_thread else nullcontext(png.write) as write,
    ):
        for band in upscale_bands(levels, lr, scale, tile, overlap, advance):
            write(band[0].permute(1, 2, 0).numpy())  # a new band each row: the writer may keep it


def check_memory(
    src: Path, image: DecodedImage, scale: int, tile: int | None, overlap: int, limit: int, given: object
) -> None:
    """Stop before upscaling `image` if the estimated peak memory of the process exceeds `limit` bytes.

    The estimate is the peak so far (Python, PyTorch, the net, the decoded image) plus what upscaling
    adds: the RGBA input as one tensor, one tile's float work and one band of output levels. The net's
    own activations at the tile's size are not counted.
    """
    h, w = image.rgb.shape[-2:]
    rows, cols = min(tile or h, h), min(tile or w, w)
    tile_pixels = scale**2 * min(rows + 2 * overlap, h) * min(cols + 2 * overlap, w)
    channels = (1 if image.grey else 3) + (image.alpha is not None)
    band = channels * image.bits // 8 * scale**2 * rows * w
    rgba = 4 * 4 * h * w if image.alpha is not None else 0
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    so_far = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    need = so_far + rgba + TILE_FLOAT_PLANES * 4 * tile_pixels + band
    if need > limit:
        raise MemoryError(
            f"{src}: upscaling {w}x{h} to {scale * w}x{scale * h} with tile={tile} needs about "
            f"{need / 1e9:.2f} GB, more than max_memory={given}: give a smaller tile or a larger max_memory"
        )


def parse_size(value: object, option: str) -> int | None:
    """A memory size option in bytes: null, a number of bytes, or e.g. 4GB, 512MB, 1.5GiB."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?", str(value).strip().lower())
    size = float(match[1]) * UNITS[match[2] or ""] if match else 0
    if size < 1:
        raise ValueError(f"{option}={value}: expected a size such as 4GB, 512MB or 1.5GiB (or null for no limit)")
    return int(size)


def flag(cfg: DictConfig, option: str) -> bool:
    value = cfg.get(option, False)
    if not isinstance(value, bool):
        raise ValueError(f"{option}={value}: expected true or false")
    return value


def build_net(cfg: DictConfig, loggers: list[Logger] = ()) -> nn.Module:
    """The net of `cfg.ckpt_path` (a file or a W&B artifact, recorded in the log and by `loggers`) or of a
    shipped weight (`cfg.pretrained`), at `cfg.data.scale` if given; or, without either, `cfg.model.net`."""
    ckpt_path, pretrained, scale = cfg.get("ckpt_path"), cfg.get("pretrained"), cfg.data.get("scale")
    if ckpt_path and pretrained:
        raise ValueError("give ckpt_path=<checkpoint> or pretrained=<name>, not both")
    if (ckpt_path or pretrained) and cfg.get("model"):
        raise ValueError("give ckpt_path=<checkpoint> or model=<name>, not both (a checkpoint names its own model)")
    if ckpt_path:
        path, record = fetch_checkpoint(ckpt_path, Path(cfg.paths.output_dir))
        log.info("checkpoint: %s", ", ".join(f"{k} {v}" for k, v in record.items() if k != "trained_by"))
        for logger in loggers:
            logger.log_hyperparams({"checkpoint": record})
    if ckpt_path or pretrained:
        net = load_net(path) if ckpt_path else pretrained_net(pretrained)
        source = f"ckpt_path={ckpt_path}" if ckpt_path else f"pretrained={pretrained}"
        if scale is not None:
            check_scale(net, scale, f"{source}, data.scale={scale}")
            net.scale = scale
        return net
    if not cfg.get("model"):
        raise ValueError("no network: give ckpt_path=<checkpoint of train.py>, or model=bicubic data.scale=<s>")
    if scale is None:
        raise ValueError("model=<name> without a checkpoint needs data.scale=<s>")
    net = net_from_config(OmegaConf.to_container(cfg.model.net, resolve=True), source="model.net")
    size = sum(p.numel() for p in net.parameters())
    if size:
        raise ValueError(f"{type(net).__name__} has {size:,} parameters to learn: give its ckpt_path=<checkpoint>")
    return net


def plan(input: str | None, output: str | None) -> list[tuple[Path, Path]]:
    """(input image, output PNG) pairs; checks that no input is overwritten and no two results collide."""
    if not input:
        raise ValueError("input=<image file or folder> is required")
    if not output:
        raise ValueError("output=<folder> is required: results are written there as PNG")
    src, out = Path(input), Path(output)
    sources = list_images(src)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output={out} is a file; results are written into a folder")
    if out.resolve() == (src if src.is_dir() else src.parent).resolve():
        raise ValueError(f"output={out} is the input folder: give another folder, inputs are never overwritten")
    by_target: dict[Path, list[Path]] = {}
    for path in sources:
        by_target.setdefault(out / f"{path.stem}.png", []).append(path)
    for target, names in by_target.items():
        if len(names) > 1:
            raise ValueError(f"{' and '.join(map(str, names))} would both be written to {target}; rename one")
    return [(path, out / f"{path.stem}.png") for path in sources]


def drop_existing(jobs: list[tuple[Path, Path]], overwrite: bool, skip_existing: bool) -> list[tuple[Path, Path]]:
    """The jobs to run: an existing output is an error, unless `overwrite` (run it) or `skip_existing` (drop it)."""
    if skip_existing:
        return [(src, dst) for src, dst in jobs if not dst.exists()]
    existing = [dst for _, dst in jobs if dst.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more outputs)" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]} exists{more}: overwrite=true replaces, skip_existing=true skips them")
    return jobs


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"device={name}: {err}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={name}: CUDA is not available here; use device=cpu or device=auto")
    return device


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the net: None (float32), bfloat16 or float16."""
    if precision == "auto":
        # Near white, float16 resolves 1/8 of an 8-bit grey level; bfloat16 only about one level.
        precision = "16" if device.type == "cuda" else "32"
    if precision not in AUTOCAST:
        raise ValueError(f"precision={precision}: expected auto, 32, bf16 or 16")
    return AUTOCAST[precision]


def export(net: nn.Module, cfg: DictConfig, overwrite: bool, skip_existing: bool) -> Path:
    """Write the net's `RGBUpscaler` (float32) to `cfg.output` in the format `cfg.export`."""
    kind = str(cfg.export)
    if kind not in EXPORTERS:
        raise ValueError(f"export={kind}: expected {' or '.join(EXPORTERS)}")
    if not cfg.get("output"):
        raise ValueError(f"export={kind} needs output=<file>, e.g. output=model.{'onnx' if kind == 'onnx' else 'pt'}")
    path = Path(cfg.output)
    if path.is_dir():
        raise IsADirectoryError(f"output={path} is a folder; export writes one file")
    if path.exists() and skip_existing:
        log.info("skip_existing=true: %s exists already", path)
        return path
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: overwrite=true replaces it, skip_existing=true skips it")
    path.parent.mkdir(parents=True, exist_ok=True)
    upscaler = RGBUpscaler(net.float().cpu()).eval()
    source = cfg.get("ckpt_path") or (f"pretrained={cfg.pretrained}" if cfg.get("pretrained") else "model.net")
    metadata = export_metadata(upscaler) | {"srlab.source": str(source)}
    EXPORTERS[kind](upscaler, path, metadata)
    log.info("exported %s x%d (%s) to %s", type(net).__name__, upscaler.scale, kind, path)
    return path
