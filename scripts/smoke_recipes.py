"""Start every paper recipe (`conf/experiment/*.yaml`) for a short budget and check that none diverges.

    python scripts/smoke_recipes.py                                  # every recipe, 300 steps each
    python scripts/smoke_recipes.py fsrcnn_t91_x3 srcnn_t91_x3 --steps 300
    python scripts/smoke_recipes.py --heavy-batch 2 --heavy-patch 16 # shrink only the batches of large nets
    python scripts/smoke_recipes.py --batch 4                        # every batch of 4 (a CPU in minutes)

Each recipe runs as `python train.py experiment=<name>` at full width (the paper's network), with its own
optimiser, loss and schedule. Where its training set is absent, it reads `--train` (default data/BSD200, whose images hold any recipe's HR patch)
and validates on `--val` (default data/Set5); perceptual losses use random VGG weights when the
ImageNet ones are not in data/weights. Nets over `--heavy-params` parameters or `--heavy-flops` forward
FLOPs per output pixel train on batches of `--heavy-batch` patches of `--heavy-patch` LR pixels, so a CPU
finishes (the table says so). An SGD
recipe run at a smaller batch than its own has its learning rates scaled by the ratio of the batches.
Prints a Markdown table: finite loss, the mean of the first and last tenth of the logged losses,
validation PSNR against bicubic.
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SRLAB_ROOT", str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def overrides_for(name: str, args: argparse.Namespace) -> tuple[list[str], str]:
    """The recipe's overrides for a short local run, and a note on what was changed."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate
    from omegaconf import DictConfig, OmegaConf

    from srlab.models.contract import cost

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={name}"])
    out = [f"experiment={name}", f"trainer.max_steps={args.steps}", f"data.steps_per_epoch={args.steps}",
           "trainer.check_val_every_n_epoch=1", "logger=csv", "trainer.log_every_n_steps=5"]  # fmt: skip
    notes = []
    train = cfg.data.train
    folders = [*train["hr"], *train["lr"]] if isinstance(train, DictConfig) else list(train)
    if not all(Path(f).exists() for f in folders):
        out += [f"data.train=[{args.train}]", f"data.val={{set5:[{args.val}]}}", "data.prepare=null",
                "data.cache=true"]  # fmt: skip
        notes.append(f"data {Path(args.train).name}")

    def vgg(path: str) -> list[str]:
        node = OmegaConf.select(cfg, path)
        if not isinstance(node, DictConfig):
            return []
        found = [f"{path}.pretrained=false"] if "pretrained" in node else []
        return found + [o for key in node if key != "pretrained" for o in vgg(f"{path}.{key}")]

    if (random := vgg("loss")) and not (ROOT / "data" / "weights").is_dir():
        out += random
        notes.append("random VGG")
    net = instantiate(cfg.model.net)
    params, gflops_per_mp = cost(net.eval())
    flops = gflops_per_mp * 1e3  # per output pixel
    heavy = params > args.heavy_params or flops > args.heavy_flops
    batch = cfg.data.batch_size
    if args.batch is not None and not heavy:
        batch = args.batch
        out.append(f"data.batch_size={batch}")
        notes.append(f"batch {batch}")
    elif heavy:
        batch, patch = args.heavy_batch, args.heavy_patch
        if "discriminator" in cfg.model:  # a VGG discriminator takes HR sides of a power of two, at least 32
            hr = max(32, 2 ** math.floor(math.log2(patch * cfg.data.scale)))
            patch = hr // cfg.data.scale
            out.append(f"model.discriminator.input_size={hr}")
        out += [f"data.batch_size={batch}", f"data.patch_size={patch}"]
        notes.append(f"batch {batch} x {patch}px ({params / 1e6:.1f}M params, {flops / 1e6:.0f} MFLOP/px)")
    if batch < cfg.data.batch_size and cfg.optimizer.get("algorithm") == "torch.optim.SGD":
        out += sgd_scaled(cfg.optimizer, batch / cfg.data.batch_size)
        notes.append(f"SGD lr x {batch}/{cfg.data.batch_size}")
    return out, ", ".join(notes) or "as the recipe"


def sgd_scaled(optimizer, factor: float) -> list[str]:
    """SGD's learning rates scaled with the batch (the linear scaling rule): a recipe's rate is tuned for
    its own batch, and the same rate on a batch of 2 follows a gradient 30x noisier (DRCN: NaN at step 3)."""
    out = [f"optimizer.lr={optimizer.lr * factor:.6g}"]
    for i, group in enumerate(optimizer.get("param_groups") or []):
        if "lr" in group:
            out.append(f"optimizer.param_groups.{i}.lr={group.lr * factor:.6g}")
    return out


def losses(metrics_csv: Path) -> list[float]:
    with open(metrics_csv) as f:
        rows = list(csv.DictReader(f))
    key = next(k for k in ("train/loss", "train/loss_g") if rows and k in rows[0])
    return [float(r[key]) for r in rows if r.get(key)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="recipes (default: every conf/experiment/*.yaml)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--train", default=str(ROOT / "data" / "BSD200"))
    parser.add_argument("--val", default=str(ROOT / "data" / "Set5"))
    parser.add_argument("--out", type=Path, default=ROOT / "logs" / "smoke")
    parser.add_argument("--batch", type=int, help="batch size for every recipe (default: the recipe's)")
    parser.add_argument("--heavy-params", type=float, default=2e6)
    parser.add_argument("--heavy-flops", type=float, default=5e6, help="forward FLOPs per output pixel")
    parser.add_argument("--heavy-batch", type=int, default=2)
    parser.add_argument("--heavy-patch", type=int, default=16)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per recipe")
    args = parser.parse_args()
    names = args.names or sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
    print(f"{args.steps} steps per recipe, {os.cpu_count()} CPU cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"| recipe | steps | run | loss finite | first / last loss | val PSNR (bicubic) | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        overrides, note = overrides_for(name, args)
        run = args.out / name
        start = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *overrides, f"hydra.run.dir={run}"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)  # fmt: skip
        except subprocess.TimeoutExpired:
            print(f"| {name} | {args.steps} | {note} | timed out after {args.timeout} s | - | - | - |", flush=True)
            continue
        seconds = time.monotonic() - start
        metrics = next(run.glob("csv/version_*/metrics.csv"), None)
        values = losses(metrics) if metrics else []
        finite = bool(values) and all(math.isfinite(v) for v in values) and proc.returncode == 0
        tenth = max(1, len(values) // 10)
        first_last = f"{sum(values[:tenth]) / tenth:.4g} / {sum(values[-tenth:]) / tenth:.4g}" if values else "-"
        psnr = "-"
        if (run / "metrics.json").exists():
            import json

            m = json.loads((run / "metrics.json").read_text())
            psnr = f"{m.get('val/psnr', float('nan')):.2f} ({m.get('val/psnr_bicubic', float('nan')):.2f})"
        status = "yes" if finite else ("no" if proc.returncode == 0 or "non-finite" in proc.stderr else f"exit {proc.returncode}")
        print(f"| {name} | {args.steps} | {note} | {status} | {first_last} | {psnr} | {seconds:.0f} |", flush=True)
        if proc.returncode != 0:
            (run / "smoke_error.txt").write_text(proc.stderr[-5000:])


if __name__ == "__main__":
    main()
