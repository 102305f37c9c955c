"""Evaluation: the paper table (PSNR/SSIM per data set and scale, bicubic beside) for a checkpoint."""

import csv
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf, open_dict
from rich.progress import Progress
from torch import nn
from torch.nn import functional as F

from srlab.callbacks.image_panels import panel
from srlab.cli.checkpoint import fetch_checkpoint, load_net, pretrained_net
from srlab.cli.config import instantiate_all, print_config_tree
from srlab.cli.runtime import keep_freed_memory, set_threads
from srlab.cli.tracking import wandb_loggers
from srlab.inference import self_ensemble, write_image
from srlab.inference.fast import fast_net
from srlab.metrics.quality import image_quality, scored_image
from srlab.models import Bicubic
from srlab.models.contract import check_scale, predict
from srlab.ops import imresize
from srlab.pretrained import entry, names

Row = dict[str, str | int | float]
log = logging.getLogger(__name__)
PANEL_CROP = 128  # HR pixels per side of each crop of a panel
TABLE_COLUMNS = ["method", "set", "scale", "image", "psnr", "ssim", "psnr_bicubic", "ssim_bicubic",
                 "LR | bicubic | SR | HR"]  # fmt: skip


@dataclass
class ImageSink:
    """What `_score` keeps of each image besides its scores: a panel (LR | bicubic | SR | HR centre crops) by
    (method, scale, set, image) when `crop_size`, and the SR image as a PNG file under `image_dir`."""

    crop_size: int | None = None
    image_dir: Path | None = None
    panels: dict[tuple[str, int, str, str], np.ndarray] = field(default_factory=dict)


def evaluate(cfg: DictConfig) -> list[Row]:
    """Score the checkpoint (or a parameter-free `model`) on every set of `cfg.data.val` at each scale.

    Writes `results.md`, `results.csv` and `per_image.csv` to the run directory (and, with `save_images`,
    the SR images under `images/`); a W&B logger gets the config, the checkpoint it scored, the means
    `eval/<set>/x<scale>/<metric>` and the per-image table with panels. Returns the per-image rows.
    """
    set_threads(cfg.get("threads"))
    keep_freed_memory()
    output_dir = Path(cfg.paths.output_dir)
    keys = ["data", "ckpt_path", "pretrained", "scales", "self_ensemble", "save_images", "device", "fast", "threads",
            "paths"]  # fmt: skip
    options = OmegaConf.masked_copy(cfg, keys)  # the model config holds training's interpolations
    print_config_tree(options, output_dir)
    if cfg.get("ckpt_path") and cfg.get("pretrained"):
        raise ValueError("give ckpt_path=<checkpoint> or pretrained=<name>, not both")
    loggers = instantiate_all(cfg.get("logger"))
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(options, resolve=True))
    image_dir = output_dir / "images" if cfg.get("save_images") else None
    sink = ImageSink(PANEL_CROP if wandb_loggers(loggers) else None, image_dir)
    if cfg.get("pretrained") == "all":
        return evaluate_zoo(cfg, output_dir, loggers, sink)
    if cfg.get("ckpt_path"):
        path, record = fetch_checkpoint(cfg.ckpt_path, output_dir)
        for logger in loggers:
            logger.log_hyperparams({"checkpoint": record})
        net, source = load_net(path), f"ckpt_path={cfg.ckpt_path}"
    elif cfg.get("pretrained"):
        net, source = pretrained_net(cfg.pretrained), f"pretrained={cfg.pretrained}"
    else:
        net, source = _net_without_checkpoint(cfg), None
    name = type(net).__name__
    scales = list(cfg.scales) if cfg.get("scales") else ([2, 3, 4] if isinstance(net, Bicubic) else [net.scale])
    rows = _score(net, name, scales, cfg, source, sink)
    _write(rows, output_dir, cfg, name, markdown_table(rows), loggers, sink)
    return rows


def _score(
    net: nn.Module, name: str, scales: list[int], cfg: DictConfig, source: str | None, sink: ImageSink | None = None
) -> list[Row]:
    """Per-image rows of `net` (as `name`) and bicubic on every set of `cfg.data` at each scale; `sink`
    keeps panels and SR images of `net`'s own rows."""
    device = torch.device(cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    net = (fast_net(net) if cfg.get("fast") else net).to(device).eval()
    threads = torch.get_num_threads()
    if cfg.get("threads") is None and device.type == "cpu" and not any(True for _ in net.parameters()):
        # Bicubic rows are many small operations: one thread beside the workers that make the LR is faster
        # than threads that wait for each other (BSD200 + Set14 at x2/x3/x4: 19.9 s against 25.1 s on 2 cores).
        torch.set_num_threads(1)
    rows: list[Row] = []
    try:
        for scale in scales:
            check_scale(net, scale, f"{source or f'model={name}'}, scales={scales}")
            net.scale = scale
            with open_dict(cfg):
                cfg.data.scale = scale
            datamodule = instantiate(cfg.data)
            datamodule.prepare_data()
            methods = {"Bicubic": None, name: net} | ({f"{name}+": self_ensemble(net)} if cfg.self_ensemble else {})
            for set_name, loader in zip(datamodule.test_names, datamodule.test_dataloader()):
                rows += _score_set(net, methods, datamodule, loader, set_name, scale, device, name,
                                   sink or ImageSink())  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    return rows


def evaluate_zoo(cfg: DictConfig, output_dir: Path, loggers: list[Logger], sink: ImageSink) -> list[Row]:
    """Every shipped weight at its scale on the sets of `cfg.data`, against its paper and bicubic."""
    rows: list[Row] = []
    for weight in names():
        net, scale = pretrained_net(weight), entry(weight)["net"]["scale"]
        rows += _score(net, weight, [scale], cfg, f"pretrained={weight}", sink)
    _write(rows, output_dir, cfg, "the shipped weights", zoo_table(rows), loggers, sink)
    return rows


def zoo_table(rows: list[Row]) -> str:
    """One row per shipped weight and set: ours, the paper's figure, the difference and bicubic."""
    means = summarise(rows)
    lines = ["| weight | scale | set | ours PSNR / SSIM | paper PSNR / SSIM | ours - paper (dB) | bicubic PSNR / SSIM |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for (method, scale, set_name), (psnr, ssim) in means.items():
        if method == "Bicubic":
            continue
        paper = entry(method).get("paper", {}).get(set_name)
        bicubic = means[("Bicubic", scale, set_name)]
        paper_cell = "-" if paper is None else f"{paper['psnr']:.2f} / " + (f"{paper['ssim']:.4f}" if paper.get("ssim") else "-")
        gap = "-" if paper is None else f"{psnr - paper['psnr']:+.2f}"
        lines.append(f"| {method} | x{scale} | {set_name} | {psnr:.2f} / {ssim:.4f} | {paper_cell} | {gap} | "
                     f"{bicubic[0]:.2f} / {bicubic[1]:.4f} |")  # fmt: skip
    return "\n".join(lines)


def _net_without_checkpoint(cfg: DictConfig) -> nn.Module:
    net = instantiate(cfg.model.net)
    if any(True for _ in net.parameters()):
        raise ValueError(f"model={type(net).__name__} has weights: give ckpt_path=<checkpoint> to evaluate it")
    return net


@torch.inference_mode()
def _score_set(
    net, methods, datamodule, loader, set_name: str, scale: int, device: torch.device, name: str, sink: ImageSink
) -> list[Row]:
    rows = []
    with Progress(transient=True) as progress:
        task = progress.add_task(f"x{scale} {set_name}", total=len(loader))
        for batch in loader:
            batch = datamodule.on_after_batch_transfer({k: _to(v, device) for k, v in batch.items()}, 0)
            lr, hr, grey = batch["lr"], batch["hr"], batch["grey"]
            for method, forward in methods.items():
                if method == "Bicubic":
                    scored = imresize(lr, scale).clamp(0, 1)
                    if name == "Bicubic":  # model=bicubic: the net is the baseline
                        _keep(sink, (method, scale, set_name, batch["name"][0]), lr, scored, scored, hr, bool(grey[0]))
                else:
                    out, rgb, bicubic = predict(net, lr, forward=forward)
                    scored = scored_image(out, rgb, grey)
                    if method == name:
                        _keep(sink, (method, scale, set_name, batch["name"][0]), lr, bicubic, rgb, hr, bool(grey[0]))
                psnr, ssim = image_quality(scored, hr, grey, border=scale)
                rows.append({"method": method, "scale": scale, "set": set_name, "image": batch["name"][0],
                             "psnr": psnr.item(), "ssim": ssim.item()})  # fmt: skip
            progress.advance(task)
    return rows


def _keep(sink: ImageSink, key: tuple[str, int, str, str], lr, bicubic, sr, hr, grey: bool) -> None:
    method, scale, set_name, image = key
    if sink.crop_size:
        lr_up = F.interpolate(lr, scale_factor=scale, mode="nearest")
        sink.panels[key] = panel(lr_up[0], bicubic[0], sr[0], hr[0], size=sink.crop_size)
    if sink.image_dir is not None:
        path = sink.image_dir / method / set_name / f"x{scale}" / f"{image}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, sr.cpu(), grey=grey)


def _to(value, device: torch.device):
    return value.to(device) if isinstance(value, torch.Tensor) else value


def summarise(rows: list[Row]) -> dict[tuple[str, int, str], tuple[float, float]]:
    """Mean PSNR and SSIM over the images of each (method, scale, set)."""
    groups: dict[tuple[str, int, str], list[Row]] = defaultdict(list)
    for row in rows:
        groups[(row["method"], row["scale"], row["set"])].append(row)
    return {k: (sum(r["psnr"] for r in g) / len(g), sum(r["ssim"] for r in g) / len(g)) for k, g in groups.items()}


def markdown_table(rows: list[Row]) -> str:
    """Methods down, sets across, `PSNR / SSIM` in each cell, as SR papers print them."""
    means = summarise(rows)
    sets = list(dict.fromkeys(r["set"] for r in rows))
    lines = ["| Method | Scale | " + " | ".join(sets) + " |", "|---|---|" + "---|" * len(sets)]
    for method, scale in dict.fromkeys((r["method"], r["scale"]) for r in rows):
        cells = [f"{means[(method, scale, s)][0]:.2f} / {means[(method, scale, s)][1]:.4f}" for s in sets]
        lines.append(f"| {method} | x{scale} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write(
    rows: list[Row], output_dir: Path, cfg: DictConfig, name: str, table: str, loggers: list[Logger], sink: ImageSink
) -> None:
    (output_dir / "results.md").write_text(table + "\n")
    with open(output_dir / "per_image.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(output_dir / "results.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "scale", "set", "psnr", "ssim", "images"])
        for (method, scale, set_name), (psnr, ssim) in summarise(rows).items():
            count = sum(r["method"] == method and r["scale"] == scale and r["set"] == set_name for r in rows)
            writer.writerow([method, scale, set_name, f"{psnr:.4f}", f"{ssim:.6f}", count])
    _log(rows, loggers, sink)
    log.info("%s, checkpoint %s\n\n%s\n", name, cfg.get("ckpt_path") or cfg.get("pretrained") or "(none)", table)
    if sink.image_dir is not None:
        log.info("SR images: %s", sink.image_dir)
    log.info("run directory: %s", output_dir)


def metric_keys(rows: list[Row]) -> dict[tuple[str, int, str], str]:
    """The logged name of each (method, scale, set): `eval/<set>/x<scale>/` and `psnr`/`ssim` with the
    suffix `_bicubic` or `_ensemble` (the "+" rows); with several nets (pretrained=all), `eval/<net>/...`."""
    nets = {r["method"] for r in rows if r["method"] != "Bicubic" and not str(r["method"]).endswith("+")}
    keys = {}
    for method, scale, set_name in dict.fromkeys((r["method"], r["scale"], r["set"]) for r in rows):
        net = str(method).removesuffix("+")
        suffix = "_bicubic" if method == "Bicubic" else "_ensemble" if str(method).endswith("+") else ""
        where = f"{net}/" if len(nets) > 1 and method != "Bicubic" else ""
        keys[(method, scale, set_name)] = f"eval/{where}{set_name}/x{scale}/{{}}{suffix}"
    return keys


def _log(rows: list[Row], loggers: list[Logger], sink: ImageSink) -> None:
    """The means of every set and scale to each logger; W&B also gets the per-image table with panels."""
    keys = metric_keys(rows)
    means = {}
    for key, (psnr, ssim) in summarise(rows).items():
        means |= {keys[key].format("psnr"): psnr, keys[key].format("ssim"): ssim}
    bicubic = {(r["scale"], r["set"], r["image"]): r for r in rows if r["method"] == "Bicubic"}
    table = []
    for r in rows:
        key = (r["method"], r["scale"], r["set"], r["image"])
        if key in sink.panels:
            b = bicubic[key[1:]]
            table.append([r["method"], r["set"], r["scale"], r["image"], r["psnr"], r["ssim"], b["psnr"], b["ssim"],
                          sink.panels[key]])  # fmt: skip
    for logger in loggers:
        logger.log_metrics(means)
        logger.save()
    for logger in wandb_loggers(loggers):
        import wandb

        data = [[*row[:-1], wandb.Image(row[-1])] for row in table]
        logger.log_table("eval/per_image", columns=TABLE_COLUMNS, data=data)
        logger.experiment.finish()
