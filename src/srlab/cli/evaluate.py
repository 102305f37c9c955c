"""Evaluation: the paper table (PSNR/SSIM per data set and scale, bicubic beside) for a checkpoint."""

import csv
from collections import defaultdict
from pathlib import Path

import torch
from hydra.utils import instantiate
from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf, open_dict
from rich.console import Console
from rich.progress import Progress
from torch import nn

from srlab.cli.checkpoint import load_net, pretrained_net
from srlab.cli.config import instantiate_all, print_config_tree
from srlab.inference import self_ensemble
from srlab.metrics.quality import image_quality, scored_image
from srlab.models import Bicubic
from srlab.models.contract import check_scale, predict
from srlab.ops import imresize
from srlab.pretrained import entry, names

Row = dict[str, str | int | float]


def evaluate(cfg: DictConfig) -> list[Row]:
    """Score the checkpoint (or a parameter-free `model`) on every set of `cfg.data.val` at each scale.

    Writes `results.md`, `results.csv` and `per_image.csv` to the run directory, logs a W&B table,
    and returns the per-image rows.
    """
    output_dir = Path(cfg.paths.output_dir)
    keys = ["data", "ckpt_path", "pretrained", "scales", "self_ensemble", "device", "paths"]
    print_config_tree(OmegaConf.masked_copy(cfg, keys), output_dir)
    if cfg.get("ckpt_path") and cfg.get("pretrained"):
        raise ValueError("give ckpt_path=<checkpoint> or pretrained=<name>, not both")
    if cfg.get("pretrained") == "all":
        return evaluate_zoo(cfg, output_dir)
    if cfg.get("ckpt_path"):
        net, source = load_net(cfg.ckpt_path), f"ckpt_path={cfg.ckpt_path}"
    elif cfg.get("pretrained"):
        net, source = pretrained_net(cfg.pretrained), f"pretrained={cfg.pretrained}"
    else:
        net, source = _net_without_checkpoint(cfg), None
    name = type(net).__name__
    scales = list(cfg.scales) if cfg.get("scales") else ([2, 3, 4] if isinstance(net, Bicubic) else [net.scale])
    rows = _score(net, name, scales, cfg, source)
    _write(rows, output_dir, cfg, name, markdown_table(rows))
    return rows


def _score(net: nn.Module, name: str, scales: list[int], cfg: DictConfig, source: str | None) -> list[Row]:
    """Per-image rows of `net` (as `name`) and bicubic on every set of `cfg.data` at each scale."""
    device = torch.device(cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    net.to(device).eval()
    rows: list[Row] = []
    for scale in scales:
        check_scale(net, scale, f"{source or f'model={name}'}, scales={scales}")
        net.scale = scale
        with open_dict(cfg):
            cfg.data.scale = scale
        datamodule = instantiate(cfg.data)
        datamodule.prepare_data()
        methods = {"Bicubic": None, name: net} | ({f"{name}+": self_ensemble(net)} if cfg.self_ensemble else {})
        for set_name, loader in zip(datamodule.test_names, datamodule.test_dataloader()):
            rows += _score_set(net, methods, datamodule, loader, set_name, scale, device)
    return rows


def evaluate_zoo(cfg: DictConfig, output_dir: Path) -> list[Row]:
    """Every shipped weight at its scale on the sets of `cfg.data`, against its paper and bicubic."""
    rows: list[Row] = []
    for weight in names():
        rows += _score(pretrained_net(weight), weight, [entry(weight)["net"]["scale"]], cfg, f"pretrained={weight}")
    _write(rows, output_dir, cfg, "the shipped weights", zoo_table(rows))
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
def _score_set(net, methods, datamodule, loader, set_name: str, scale: int, device: torch.device) -> list[Row]:
    rows = []
    with Progress(transient=True) as progress:
        task = progress.add_task(f"x{scale} {set_name}", total=len(loader))
        for batch in loader:
            batch = datamodule.on_after_batch_transfer({k: _to(v, device) for k, v in batch.items()}, 0)
            lr, hr, grey = batch["lr"], batch["hr"], batch["grey"]
            for method, forward in methods.items():
                if method == "Bicubic":
                    scored = imresize(lr, scale).clamp(0, 1)
                else:
                    out, rgb, _ = predict(net, lr, forward=forward)
                    scored = scored_image(out, rgb, grey)
                psnr, ssim = image_quality(scored, hr, grey, border=scale)
                rows.append({"method": method, "scale": scale, "set": set_name, "image": batch["name"][0],
                             "psnr": psnr.item(), "ssim": ssim.item()})  # fmt: skip
            progress.advance(task)
    return rows


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


def _write(rows: list[Row], output_dir: Path, cfg: DictConfig, name: str, table: str) -> None:
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
    for logger in instantiate_all(cfg.get("logger")):
        if isinstance(logger, WandbLogger):
            logger.log_table("eval/per_image", columns=list(rows[0]), data=[list(r.values()) for r in rows])
            logger.experiment.finish()
    console = Console()
    console.print(f"\n{name}, checkpoint {cfg.get('ckpt_path') or cfg.get('pretrained') or '(none)'}\n")
    console.print(table, markup=False)
    console.print(f"\nrun directory: {output_dir}")
