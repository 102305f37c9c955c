"""Training curves of the zoo runs: Set5 and Set14 PSNR against wall-clock seconds, from the runs' own logs.

    python scripts/plot_zoo_curves.py                         # docs/zoo/runs/* -> docs/zoo/curves.png
    python scripts/plot_zoo_curves.py --runs logs/zoo --out /tmp/curves.png

Each panel is one run (its `metrics.csv`, as the CSV logger wrote it); dashed lines are the paper's
figures from the package manifest, dotted lines bicubic. Needs matplotlib (`pip install matplotlib`).
"""

import argparse
import csv
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = {"set5": "tab:blue", "set14": "tab:orange"}


def curve(metrics_csv: Path, set_name: str) -> tuple[list[float], list[float], float | None]:
    """(seconds, PSNR) at each validation of `set_name`, and its bicubic PSNR."""
    seconds, psnr, bicubic = [], [], None
    with open(metrics_csv) as f:
        for row in csv.DictReader(f):
            if row.get(f"val/{set_name}/psnr") and row.get("train/wall_s"):
                seconds.append(float(row["train/wall_s"]))
                psnr.append(float(row[f"val/{set_name}/psnr"]))
                bicubic = float(row[f"val/{set_name}/psnr_bicubic"])
    return seconds, psnr, bicubic


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "docs" / "zoo" / "runs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "zoo" / "curves.png")
    args = parser.parse_args()
    manifest = json.loads((ROOT / "src" / "srlab" / "pretrained" / "manifest.json").read_text())
    runs = sorted(p.parent for p in args.runs.glob("*/metrics.csv")) or sorted(
        p.parents[2] for p in args.runs.glob("*/csv/version_*/metrics.csv")
    )
    if not runs:
        raise SystemExit(f"no metrics.csv under {args.runs}")
    cols = min(3, len(runs))
    fig, axes = plt.subplots(math.ceil(len(runs) / cols), cols, figsize=(5 * cols, 3.6 * math.ceil(len(runs) / cols)),
                             squeeze=False)  # fmt: skip
    for ax, run in zip(axes.flat, runs):
        metrics_csv = run / "metrics.csv" if (run / "metrics.csv").exists() else next(run.glob("csv/version_*/metrics.csv"))
        paper = manifest.get(run.name, {}).get("paper", {})
        for set_name, colour in SETS.items():
            seconds, psnr, bicubic = curve(metrics_csv, set_name)
            ax.plot(seconds, psnr, "o-", color=colour, markersize=3, label=f"{set_name}")
            if set_name in paper:
                ax.axhline(paper[set_name]["psnr"], color=colour, linestyle="--", linewidth=1, label=f"{set_name} paper")
            if bicubic is not None:
                ax.axhline(bicubic, color=colour, linestyle=":", linewidth=1, label=f"{set_name} bicubic")
        ax.set_title(run.name)
        ax.set_xlabel("training wall-clock seconds (one CPU thread)")
        ax.set_ylabel("Y-PSNR (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(runs) :]:
        ax.axis("off")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} ({len(runs)} runs)")


if __name__ == "__main__":
    main()
