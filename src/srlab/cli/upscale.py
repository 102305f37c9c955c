"""`python upscale.py`: super-resolve image files with a trained net (tiled, optionally self-ensembled), or export it."""

import time
from functools import partial
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import Tensor, nn

from srlab.cli.checkpoint import load_net, net_from_config
from srlab.inference import (
    RGBUpscaler,
    export_metadata,
    export_onnx,
    export_torchscript,
    list_images,
    read_image,
    self_ensemble,
    tile_count,
    upscale_tiled,
    write_image,
)
from srlab.ops import imresize

AUTOCAST = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}
EXPORTERS = {"onnx": export_onnx, "torchscript": export_torchscript}


def upscale(cfg: DictConfig) -> list[Path]:
    """Super-resolve `cfg.input` into the folder `cfg.output`, or export the net (`cfg.export`).

    Returns the files written.
    """
    net = build_net(cfg)
    if cfg.get("export"):
        return [export(net, cfg)]
    jobs = plan(cfg.get("input"), cfg.get("output"))
    tile, overlap = cfg.get("tile"), cfg.get("overlap")
    if tile is not None and not (isinstance(tile, int) and tile > 0):
        raise ValueError(f"tile={tile}: expected a positive number of LR pixels, or null for whole images")
    if not (isinstance(overlap, int) and overlap >= 0):
        raise ValueError(f"overlap={overlap}: expected a number of LR pixels >= 0")
    device = pick_device(str(cfg.device))
    upscaler = RGBUpscaler(net, autocast=autocast_dtype(str(cfg.precision), device)).to(device).eval()
    forward = self_ensemble(upscaler) if cfg.get("self_ensemble") else upscaler

    def run(lr: Tensor) -> Tensor:
        return forward(lr.to(device))

    Path(cfg.output).mkdir(parents=True, exist_ok=True)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()
    )
    with progress, torch.inference_mode():
        images = progress.add_task("images", total=len(jobs))
        for src, dst in jobs:
            image = read_image(src)
            h, w = image.rgb.shape[-2:]
            tiles = progress.add_task(f"  {src.name}", total=tile_count(h, w, tile))
            start = time.perf_counter()
            sr = upscale_tiled(run, image.rgb, upscaler.scale, tile, overlap, partial(progress.advance, tiles))
            seconds = time.perf_counter() - start
            if not torch.isfinite(sr).all():
                raise FloatingPointError(f"{src}: the net's output is not finite at precision={cfg.precision}; try 32")
            alpha = imresize(image.alpha, upscaler.scale).clamp(0, 1) if image.alpha is not None else None
            write_image(dst, sr, alpha, grey=image.grey, bits=image.bits)
            progress.remove_task(tiles)
            progress.advance(images)
            size = f"{sr.shape[-1]}x{sr.shape[-2]}"
            progress.console.print(f"{src} ({w}x{h}) -> {dst} ({size}) in {seconds:.2f} s", soft_wrap=True)
    return [dst for _, dst in jobs]


def build_net(cfg: DictConfig) -> nn.Module:
    """The net of `cfg.ckpt_path`, at `cfg.data.scale` if given; or, without a checkpoint, `cfg.model.net`."""
    ckpt_path, scale = cfg.get("ckpt_path"), cfg.data.get("scale")
    if ckpt_path and cfg.get("model"):
        raise ValueError("give ckpt_path=<checkpoint> or model=<name>, not both (a checkpoint names its own model)")
    if ckpt_path:
        net = load_net(ckpt_path)
        if scale is not None and scale != net.scale:
            # Multi-scale nets list their scales; a pre-upsampled net without a list takes any scale.
            scales = tuple(net.scales)
            if not (scale in scales or (not scales and net.pre_upsampled)):
                raise ValueError(
                    f"data.scale={scale}: {ckpt_path} holds a x{net.scale} {type(net).__name__}, "
                    f"which supports {', '.join(f'x{s}' for s in scales) or 'only that scale'}"
                )
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


def export(net: nn.Module, cfg: DictConfig) -> Path:
    """Write the net's `RGBUpscaler` (float32) to `cfg.output` in the format `cfg.export`."""
    kind = str(cfg.export)
    if kind not in EXPORTERS:
        raise ValueError(f"export={kind}: expected {' or '.join(EXPORTERS)}")
    if not cfg.get("output"):
        raise ValueError(f"export={kind} needs output=<file>, e.g. output=model.{'onnx' if kind == 'onnx' else 'pt'}")
    path = Path(cfg.output)
    if path.is_dir():
        raise IsADirectoryError(f"output={path} is a folder; export writes one file")
    path.parent.mkdir(parents=True, exist_ok=True)
    upscaler = RGBUpscaler(net.float().cpu()).eval()
    metadata = export_metadata(upscaler) | {"srlab.source": str(cfg.get("ckpt_path") or "model.net")}
    EXPORTERS[kind](upscaler, path, metadata)
    Console().print(f"exported {type(net).__name__} x{upscaler.scale} ({kind}) to {path}")
    return path
