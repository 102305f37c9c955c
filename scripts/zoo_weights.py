"""Pack the zoo runs (`scripts/train_zoo.sh`, logs/zoo/<recipe>/) into the weights that ship in the package.

    python scripts/zoo_weights.py                  # every finished run of logs/zoo
    python scripts/zoo_weights.py fsrcnn_x3        # one

For each run: the net weights of its last checkpoint (the end of the cosine schedule, not a checkpoint
picked by its Set5 score) go to `src/srlab/pretrained/<recipe>.pt`; the run is scored on Set5 and Set14
with the paper protocol; the manifest entry records the recipe, data, steps, wall time, hardware, the
scores, the paper's figures and the file's SHA-256; the run's own logs (CSV metrics, log, config) are
copied to `docs/zoo/runs/<recipe>/` for `scripts/plot_zoo_curves.py`.
"""

import argparse
import csv
import hashlib
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SRLAB_ROOT", str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
sys.path.insert(0, str(ROOT / "src"))

from srlab.cli.checkpoint import net_from_config  # noqa: E402
from srlab.cli.evaluate import _score, summarise  # noqa: E402
from srlab.pretrained import FOLDER  # noqa: E402

# The papers' Y-PSNR on Set5 and Set14 that each weight is held to. `verified: false`: the stored copies
# of the papers hold their text without the result tables, so the figures come from other sources that
# cite those tables (docs/zoo.md lists them); the text does confirm FSRCNN's 91-image x3 figure (33.06).
PAPER = {
    **{f"fsrcnn_x{s}": {"source": "FSRCNN (Dong, Loy, Tang, ECCV 2016), Table 4 (91 images + General-100)",
                        "verified": False, "set5": {"psnr": p5}, "set14": {"psnr": p14}}
       for s, p5, p14 in [(2, 37.00, 32.63), (3, 33.16, 29.43), (4, 30.71, 27.59)]},
    "fsrcnn_s_x3": {"source": "FSRCNN (Dong, Loy, Tang, ECCV 2016), Table 3 (augmented 91 images)", "verified": False,
                    "set5": {"psnr": 32.55}, "set14": {"psnr": 29.08}},
    "espcn_x3": {"source": "ESPCN (Shi et al., CVPR 2016), Table 1 (91 images, tanh)", "verified": False,
                 "set5": {"psnr": 32.55}, "set14": {"psnr": 29.08}},
    "srcnn_x3": {"source": "SRCNN (Dong et al., ECCV 2014), 9-1-5 trained on the 91 images", "verified": False,
                 "set5": {"psnr": 32.39}, "set14": {"psnr": 29.00}},
}


def hardware(threads: int) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return f"{cpu}, {threads} thread(s) on a {os.cpu_count()}-core machine, no GPU, PyTorch {torch.__version__}"


def last_wall_seconds(metrics_csv: Path) -> float:
    with open(metrics_csv) as f:
        return max(float(r["train/wall_s"]) for r in csv.DictReader(f) if r.get("train/wall_s"))


def pack(name: str, run: Path, threads: int) -> dict:
    from hydra import compose, initialize_config_dir

    ckpt = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    net_config = ckpt["net_config"]
    weights = {k.removeprefix("net."): v.clone().contiguous() for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    file = FOLDER / f"{name}.pt"
    torch.save(weights, file)
    net = net_from_config(net_config, source=str(run))
    net.load_state_dict(torch.load(file, weights_only=True))

    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("eval", overrides=["data=set5_set14", "logger=csv"])
    means = summarise(_score(net, name, [net.scale], cfg, str(run)))
    scores = {s: {"psnr": round(p, 4), "ssim": round(q, 6)} for (m, _, s), (p, q) in means.items() if m == name}
    bicubic = {s: {"psnr": round(p, 4), "ssim": round(q, 6)} for (m, _, s), (p, q) in means.items() if m == "Bicubic"}

    docs = ROOT / "docs" / "zoo" / "runs" / name
    docs.mkdir(parents=True, exist_ok=True)
    metrics_csv = next(run.glob("csv/version_*/metrics.csv"))
    shutil.copy(metrics_csv, docs / "metrics.csv")
    shutil.copy(run / ".hydra" / "config.yaml", docs / "config.yaml")
    if (run / "train.log").exists():
        shutil.copy(run / "train.log", docs / "train.log")
    return {
        "model": _model_option(run),
        "file": file.name,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
        "net": net_config,
        "parameters": sum(p.numel() for p in net.parameters()),
        "recipe": f"python train.py experiment=zoo/{name}",
        "training_data": training_data(run),
        "steps": int(ckpt["global_step"]),
        "train_seconds": round(last_wall_seconds(metrics_csv)),
        "hardware": hardware(threads),
        "scores": scores,
        "bicubic": bicubic,
        "paper": PAPER[name],
    }


def training_data(run: Path) -> str:
    from omegaconf import OmegaConf

    data = OmegaConf.load(run / ".hydra" / "config.yaml").data
    factors = [str(f) for f in data.get("bank_rescale") or [] if f != 1]
    copies = f", each image also downscaled by {', '.join(factors)} (data.bank_rescale)" if factors else ""
    return f"291 images (T91 + BSD200), MATLAB-bicubic LR patches (data.bank=true){copies}"


def _model_option(run: Path) -> str:
    """The `model=` option of the run (its experiment's `override /model`)."""
    recipe = (ROOT / "conf" / "experiment" / "zoo" / f"{run.name}.yaml").read_text()
    return next(line.split(":", 1)[1].strip() for line in recipe.splitlines() if "override /model:" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="recipes of conf/experiment/zoo (default: every finished run)")
    parser.add_argument("--runs", type=Path, default=ROOT / "logs" / "zoo")
    parser.add_argument("--threads", type=int, default=1, help="threads the runs trained with (OMP_NUM_THREADS)")
    args = parser.parse_args()
    names = args.names or sorted(p.parent.name for p in args.runs.glob("*/metrics.json"))
    path = FOLDER / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        manifest[name] = pack(name, args.runs / name, args.threads)
        s = manifest[name]["scores"]
        print(f"{name}: Set5 {s['set5']['psnr']:.2f} dB, Set14 {s['set14']['psnr']:.2f} dB, "
              f"{manifest[name]['steps']} steps, {manifest[name]['train_seconds']} s")  # fmt: skip
    path.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")


if __name__ == "__main__":
    main()
