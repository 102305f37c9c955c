"""`srlab report`: one table of many runs, as a paper's comparison section prints it, and its plots.

    srlab report logs/train/multiruns/2026-12-02/10-00-00            # every run under the folder
    srlab report logs/train/2026-12-01/* logs/eval/2026-12-02/11-30-00 --out report/
    srlab report wandb_export.csv                                      # a W&B project's runs, exported as CSV
    srlab report logs/train/multiruns/... --benchmark 1280x720         # also measure frames/s per run

Runs are the folders that hold `.hydra/config.yaml`: those of `train.py` (scores from `metrics.json`: the
test sets when the run had `test=true`, else the validation sets; curves from the CSV logger's
`metrics.csv`) and of `eval.py` (`results.csv`, one row per method). Runs whose configurations differ
only in `seed` (and in paths, loggers, callbacks and tags) are one row, mean ± sample standard deviation.
Parameters and FLOPs per output megapixel are measured on the run's net, as `srlab models` does.

Written to `--out`: `report.md`, `report.csv`, `report.tex` (booktabs), and as PNG and SVG:
`psnr_vs_params`, `psnr_vs_flops`, `psnr_vs_fps` (runs with a `benchmark.json`), `curves` (validation
PSNR against step and against training wall-clock seconds).
"""

import argparse
import ast
import csv
import json
import math
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import OmegaConf

from srlab.cli.checkpoint import load_net, net_from_config
from srlab.inference import RGBUpscaler
from srlab.models.contract import cost
from srlab.pretrained import entry
from srlab.systems.checkpoint import read_checkpoint

# Config keys that do not change a result: runs that differ only there (and in seed) are seeds of one row.
NOT_CONFIGURATION = ("seed", "paths", "logger", "callbacks", "tags", "task_name", "ckpt_path", "hydra")
METRIC = re.compile(r"^(test|val)/(?:([^/]+)/)?(psnr|ssim|psnr_bicubic|ssim_bicubic)$")
BENCHMARK = "benchmark.json"


@dataclass
class Run:
    """One scored run (or one method of an `eval.py` run)."""

    source: str  # the folder, or the CSV file and row
    method: str  # model= option, weight or method name
    configuration: dict[str, str]  # the overrides that define it, without the seed
    key: str  # identity of the configuration without the seed
    data: str
    scale: int
    seed: int | None
    scores: dict[str, dict[str, float]]  # set -> psnr, ssim, psnr_bicubic, ssim_bicubic
    params: int | None = None
    gflops: float | None = None
    train_s: float | None = None
    fps: float | None = None
    curve: Path | None = None  # metrics.csv of the CSV logger
    net: dict | None = field(default=None, repr=False)  # the net config, to measure


@dataclass
class Row:
    """Seeds of one configuration."""

    label: str
    runs: list[Run]

    @property
    def first(self) -> Run:
        return self.runs[0]

    def values(self, set_name: str, metric: str) -> list[float]:
        return [r.scores[set_name][metric] for r in self.runs if metric in r.scores.get(set_name, {})]

    def mean(self, set_name: str, metric: str) -> float | None:
        values = self.values(set_name, metric)
        return statistics.fmean(values) if values else None

    def std(self, set_name: str, metric: str) -> float | None:
        values = self.values(set_name, metric)
        return statistics.stdev(values) if len(values) > 1 else None

    def mean_of(self, attribute: str) -> float | None:
        values = [getattr(r, attribute) for r in self.runs if getattr(r, attribute) is not None]
        return statistics.fmean(values) if values else None


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "report", help="one table (Markdown, CSV, LaTeX) and plots of many runs", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("paths", nargs="+", type=Path, help="run folders, folders above them, or a W&B CSV export")
    parser.add_argument("--out", type=Path, default=Path("report"), help="folder for the tables and plots (report/)")
    parser.add_argument("--set", dest="plot_set", help="the set the plots show (default: the first one)")
    parser.add_argument("--curves", nargs="+", metavar="METHOD", help="rows whose validation curves are drawn (default: all)")
    parser.add_argument("--benchmark", metavar="WxH", help=f"measure frames/s of each run at this output size into its {BENCHMARK}")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    runs = collect(args.paths)
    if args.benchmark:
        width, height = parse_size(args.benchmark)
        for source in dict.fromkeys(r.source for r in runs):  # an eval.py folder holds several rows
            benchmark(next(r for r in runs if r.source == source), width, height)
    rows = group(runs)
    sets = set_names(rows)
    plot_set = args.plot_set or sets[0]
    if plot_set not in sets:
        raise ValueError(f"--set {plot_set}: no run scored it; the sets are {', '.join(sets)}")
    chosen = [row for row in rows if any(r.curve for r in row.runs)]
    if args.curves:
        chosen = [row for row in chosen if row.label in args.curves or row.first.method in args.curves]
        if not chosen:
            labels = ", ".join(row.label for row in rows)
            raise ValueError(f"--curves {' '.join(args.curves)}: no row of that name has a metrics.csv; the rows are {labels}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(markdown(rows, sets) + "\n")
    (args.out / "report.tex").write_text(latex(rows, sets) + "\n")
    write_csv(rows, sets, args.out / "report.csv")
    written = plots(rows, plot_set, args.out, chosen)
    print(markdown(rows, sets))
    print(f"\n{len(runs)} runs in {len(rows)} rows; wrote report.md, report.csv, report.tex, "
          f"{', '.join(written)} (.png, .svg) to {args.out}")  # fmt: skip


# --- reading runs ------------------------------------------------------------------------------------
def collect(paths: list[Path]) -> list[Run]:
    """Every scored run under `paths`; runs without scores are named and skipped, and none at all is an error."""
    runs: list[Run] = []
    for path in paths:
        if path.is_file() and path.suffix == ".csv":
            runs += wandb_export(path)
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is neither a run folder nor a W&B CSV export")
        folders = sorted(p.parents[1] for p in path.rglob("config.yaml") if p.parent.name == ".hydra")
        if not folders:
            raise FileNotFoundError(
                f"{path} holds no runs: a run folder of train.py or eval.py holds .hydra/config.yaml"
            )
        found = [r for folder in folders for r in read_run(folder)]
        if not found:
            raise FileNotFoundError(
                f"no run under {path} has metrics (metrics.json of train.py, results.csv of eval.py): "
                f"{', '.join(map(str, folders[:5]))}{' ...' if len(folders) > 5 else ''}"
            )
        runs += found
    return runs


def read_run(folder: Path) -> list[Run]:
    """The scored runs of one folder: one for train.py, one per method for eval.py; errors name the folder."""
    try:
        return _read_run(folder)
    except (OSError, ValueError, LookupError, TypeError) as err:
        raise ValueError(f"run folder {folder}: {err}") from err


def _read_run(folder: Path) -> list[Run]:
    loaded = OmegaConf.load(folder / ".hydra" / "config.yaml")
    # Paths interpolate the environment of the run (SRLAB_ROOT): only the net's config is resolved.
    net = OmegaConf.to_container(loaded.model.net, resolve=True) if "net" in loaded.get("model", {}) else None
    cfg: dict = OmegaConf.to_container(loaded, resolve=False)
    cfg.setdefault("data", {})
    cfg.setdefault("model", {})
    hydra_file = folder / ".hydra" / "hydra.yaml"
    hydra = OmegaConf.load(hydra_file).hydra if hydra_file.exists() else None
    choices = dict(hydra.runtime.choices) if hydra is not None else {}
    overrides = dict(o.split("=", 1) for o in (hydra.overrides.task if hydra is not None else []) if "=" in o)
    overrides = {k.lstrip("+~"): v for k, v in overrides.items() if k.lstrip("+~").split(".")[0] not in NOT_CONFIGURATION}
    if (folder / "results.csv").exists():
        return eval_runs(folder, cfg)
    if not (folder / "metrics.json").exists():
        print(f"skipped {folder}: no metrics.json (the run did not finish) and no results.csv")
        return []
    metrics = json.loads((folder / "metrics.json").read_text())
    scores = split_scores(metrics, cfg)
    if not scores:
        print(f"skipped {folder}: its metrics.json holds no PSNR/SSIM")
        return []
    kept = {k: v for k, v in cfg.items() if k not in NOT_CONFIGURATION}
    curve = max(folder.glob("csv/version_*/metrics.csv"), default=None, key=lambda p: int(p.parent.name[8:]))
    return [Run(
        source=str(folder), method=choices.get("model") or cfg["model"].get("_target_", "?").rsplit(".", 1)[-1],
        configuration=overrides, key=json.dumps(kept, sort_keys=True, default=str), data=data_name(cfg, choices),
        scale=int(cfg["data"]["scale"]), seed=cfg.get("seed"), scores=scores, train_s=wall_seconds(curve), curve=curve,
        net=net, fps=read_fps(folder),
    )]  # fmt: skip


def split_scores(metrics: dict[str, float], cfg: dict) -> dict[str, dict[str, float]]:
    """Per set, PSNR/SSIM and bicubic's from `metrics.json`: the test split when scored, else validation.
    A run with one set logs it without its name (`val/psnr`), a run with several names each one."""
    found: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for key, value in metrics.items():
        if (m := METRIC.match(key)) and isinstance(value, int | float):
            found[m[1]][m[2] or ""][m[3]] = float(value)
    split = "test" if "test" in found else "val"
    sets = found.get(split, {})
    if len(sets) > 1:
        sets.pop("", None)  # the monitored set, also logged under its name
    elif "" in sets:
        names = cfg["data"].get(split) or cfg["data"].get("val") or {split: None}
        sets = {next(iter(names)): sets[""]}
    return {name: dict(v) for name, v in sets.items()}


def eval_runs(folder: Path, cfg: dict) -> list[Run]:
    """One run per method of an `eval.py` output (`results.csv`), bicubic beside each."""
    with open(folder / "results.csv") as f:
        results = list(csv.DictReader(f))
    bicubic = {(r["scale"], r["set"]): r for r in results if r["method"] == "Bicubic"}
    methods = list(dict.fromkeys(r["method"] for r in results if r["method"] != "Bicubic")) or ["Bicubic"]
    pretrained = cfg.get("pretrained")
    runs = []
    for method in methods:
        for scale in dict.fromkeys(r["scale"] for r in results if r["method"] == method):
            scores = {}
            for r in results:
                if r["method"] == method and r["scale"] == scale:
                    b = bicubic.get((scale, r["set"]), r)
                    scores[r["set"]] = {"psnr": float(r["psnr"]), "ssim": float(r["ssim"]),
                                        "psnr_bicubic": float(b["psnr"]), "ssim_bicubic": float(b["ssim"])}  # fmt: skip
            weight = method if pretrained == "all" else pretrained
            net, data, train_s = eval_source(cfg, weight, method)
            runs.append(Run(
                source=str(folder), method=method, configuration={"method": method},
                key=f"{folder}:{method}:{scale}", data=data, scale=int(scale), seed=None, scores=scores,
                train_s=train_s, net=net,
            ))  # fmt: skip
    return runs


def eval_source(cfg: dict, weight: str | None, method: str) -> tuple[dict | None, str, float | None]:
    """The net config, training data and training seconds behind a method of `eval.py`, where known."""
    if method == "Bicubic":
        return None, "-", None
    if weight:
        info = entry(weight.rstrip("+"))
        return info["net"], info.get("training_data", "-").split(" (")[0], info.get("train_seconds")
    ckpt = cfg.get("ckpt_path")
    if not ckpt:
        return None, "-", None
    net = read_checkpoint(ckpt, "ckpt_path").get("net_config")
    run_dir = Path(ckpt).parents[1]
    data, train_s = "-", None
    if (run_dir / ".hydra" / "config.yaml").exists():
        trained = read_run(run_dir)
        if trained:
            data, train_s = trained[0].data, trained[0].train_s
    return net, data, train_s


def data_name(cfg: dict, choices: dict[str, str]) -> str:
    """The `data=` option, or for `data=folder` the training folders' names."""
    name = choices.get("data", "")
    if name in ("", "folder"):
        train = cfg["data"].get("train") or []
        folders = train.get("hr", []) if isinstance(train, dict) else train
        return "+".join(str(p).rstrip("/").rsplit("/", 1)[-1] for p in folders) or "-"
    return name


def wall_seconds(metrics_csv: Path | None) -> float | None:
    """Training wall-clock seconds: the last `train/wall_s` the run logged."""
    seconds = [s for _, _, s in curve_points(metrics_csv)] if metrics_csv else []
    return max(seconds, default=None)


def curve_points(metrics_csv: Path) -> list[tuple[int, float, float]]:
    """(step, val/psnr, train/wall_s) at each validation during training (the final re-score of the best
    checkpoint has no wall-clock time and is left out)."""
    return [(int(float(row["step"])), float(row["val/psnr"]), float(row["train/wall_s"])) for row in _validations(metrics_csv)]


def _validations(metrics_csv: Path) -> list[dict[str, str]]:
    with open(metrics_csv) as f:
        return [row for row in csv.DictReader(f) if row.get("val/psnr") and row.get("train/wall_s")]


def read_fps(folder: Path) -> float | None:
    path = folder / BENCHMARK
    return float(json.loads(path.read_text())["fps"]) if path.exists() else None


def wandb_export(path: Path) -> list[Run]:
    """Runs of a W&B project exported as CSV: the web table's export (one column per config key, such as
    `data.scale`, and per summary metric, such as `test/set5/psnr`, with `Name` and `Runtime`), or the
    API's (`name`, `config` and `summary` columns holding dicts). The final scoring of the best checkpoint
    (`final/val/...`, `final/test/...`) wins over the summary of the validation curve."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} holds no runs")
    runs = []
    for i, row in enumerate(rows):
        if "config" in row and "summary" in row:
            config, summary = flatten(ast.literal_eval(row["config"] or "{}")), ast.literal_eval(row["summary"] or "{}")
            name = row.get("name") or f"row {i + 1}"
        else:
            summary = {k: _number(v) for k, v in row.items()
                       if METRIC.match(k.removeprefix("final/")) or k in ("Runtime", "_runtime")}  # fmt: skip
            config = {k: v for k, v in row.items() if k not in summary and k[:1].isalpha() and k not in WANDB_COLUMNS}
            name = row.get("Name") or f"row {i + 1}"
        metrics = {k: v for k, v in summary.items() if v not in ("", None) and not k.startswith("final/")}
        metrics |= {k.removeprefix("final/"): v for k, v in summary.items() if v not in ("", None) and k.startswith("final/")}
        scale = config.get("data.scale")
        scores = split_scores(metrics, {"data": {"val": {"val": None}}})
        if not scores or scale in (None, ""):
            print(f"skipped {path}, run {name}: no PSNR/SSIM or no data.scale")
            continue
        kept = {k: v for k, v in config.items() if k.split(".")[0].split("/")[0] not in NOT_CONFIGURATION}
        target = str(config.get("model.net._target_") or name)
        params = _number(config.get("model/params/total"))
        runs.append(Run(
            source=f"{path}:{name}", method=target.rsplit(".", 1)[-1], configuration={k: str(v) for k, v in kept.items()},
            key=json.dumps(kept, sort_keys=True, default=str), data=_folders(config.get("data.train") or "-"),
            scale=int(float(scale)), seed=config.get("seed"), scores=scores,
            params=None if params is None else int(params), train_s=_number(summary.get("Runtime", summary.get("_runtime"))),
        ))  # fmt: skip
    if not runs:
        raise ValueError(f"no run of {path} has PSNR/SSIM and data.scale: export the runs with their summary and config columns")
    return runs


WANDB_COLUMNS = ("Name", "State", "Notes", "User", "Tags", "Created", "Runtime", "Sweep", "ID", "Group", "Job Type")


def flatten(config: dict, prefix: str = "") -> dict:
    """Nested config -> dotted keys, as W&B's table shows them. W&B's API wraps each value as {"value": ...}."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"value"}:
            value = value["value"]
        if isinstance(value, dict):
            out |= flatten(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _folders(value) -> str:
    folders = ast.literal_eval(value) if isinstance(value, str) and value.startswith("[") else value
    folders = folders if isinstance(folders, list) else [folders]
    return "+".join(str(p).rstrip("/").rsplit("/", 1)[-1] for p in folders)


# --- measuring ---------------------------------------------------------------------------------------
def measure(runs: list[Run]) -> None:
    """Parameters and GFLOPs per output megapixel of each run's net (once per net config)."""
    measured: dict[str, tuple[int, float]] = {}
    for r in runs:
        if r.net is None:
            if r.method == "Bicubic":
                r.params = r.params or 0
            continue
        key = json.dumps(r.net, sort_keys=True)
        if key not in measured:
            measured[key] = cost(net_from_config(r.net, source=r.source))
        params, gflops = measured[key]
        r.params = params
        r.gflops = gflops * 8 if r.method.endswith("+") else gflops  # the self-ensemble runs the net 8 times


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text)
    if not match:
        raise ValueError(f"--benchmark {text}: give the output size as WIDTHxHEIGHT, e.g. 1280x720")
    return int(match[1]), int(match[2])


@torch.inference_mode()
def benchmark(r: Run, width: int, height: int, frames: int = 5) -> None:
    """Frames per second of a train run's best checkpoint on the CPU at `width` x `height` output pixels,
    written to the run folder's `benchmark.json` (eval.py rows and W&B exports are not measured)."""
    folder = Path(r.source)
    metrics = folder / "metrics.json"
    ckpt = json.loads(metrics.read_text()).get("ckpt_path") if metrics.exists() else None
    if not ckpt or not Path(ckpt).exists():
        print(f"--benchmark: {r.source} has no checkpoint to time; skipped")
        return
    upscaler = RGBUpscaler(load_net(ckpt))
    lr = torch.rand(1, 3, math.ceil(height / r.scale), math.ceil(width / r.scale))
    upscaler(lr)  # warm-up
    start = time.perf_counter()
    for _ in range(frames):
        upscaler(lr)
    r.fps = frames / (time.perf_counter() - start)
    info = {"fps": r.fps, "output": [width, height], "frames": frames, "device": "cpu",
            "threads": torch.get_num_threads(), "torch": torch.__version__}  # fmt: skip
    (folder / BENCHMARK).write_text(json.dumps(info, indent=2) + "\n")
    print(f"{r.source}: {r.fps:.2f} frames/s at {width}x{height}")


# --- rows and tables ---------------------------------------------------------------------------------
def group(runs: list[Run]) -> list[Row]:
    """Seeds of one configuration in one row, labelled by the method and what sets the rows apart."""
    measure(runs)
    groups: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        groups[r.key].append(r)
    rows = [Row("", g) for g in groups.values()]
    # what tells the rows apart: keys that two rows or more have, with different values
    values: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        for k, v in row.first.configuration.items():
            values[k].append(v)
    varying = {k for k, v in values.items() if len(v) > 1 and len(set(v)) > 1}
    for row in rows:
        extra = [f"{k}={v}" for k, v in row.first.configuration.items() if k in varying and k not in ("model", "method")]
        row.label = " ".join([row.first.method, *extra])
    return sorted(rows, key=lambda row: (row.first.scale, row.first.params or 0, row.label))


def set_names(rows: list[Row]) -> list[str]:
    return list(dict.fromkeys(s for row in rows for r in row.runs for s in r.scores))


def _pm(mean: float | None, std: float | None, digits: int, tex: bool = False) -> str:
    if mean is None:
        return "-"
    if std is None:
        return f"{mean:.{digits}f}"
    pm = "$\\pm$" if tex else "±"
    return f"{mean:.{digits}f} {pm} {std:.{digits}f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def best_psnr(rows: list[Row], sets: list[str]) -> dict[tuple[str, int], float]:
    """The highest mean PSNR per set and scale."""
    best: dict[tuple[str, int], float] = {}
    for row in rows:
        for s in sets:
            if (m := row.mean(s, "psnr")) is not None:
                best[(s, row.first.scale)] = max(m, best.get((s, row.first.scale), -math.inf))
    return best


def cells(rows: list[Row], sets: list[str], tex: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the table: the run's facts, then per set the model's and bicubic's PSNR / SSIM."""
    header = ["method", "data", "scale", "runs", "parameters", "GFLOPs / MP", "training time"]
    for s in sets:
        header += [f"{s} PSNR / SSIM", f"{s} bicubic"]
    best = best_psnr(rows, sets)
    out = []
    for row in rows:
        r = row.first
        line = [row.label, r.data, f"x{r.scale}", str(len(row.runs)), "-" if r.params is None else f"{r.params:,}",
                "-" if r.gflops is None else f"{r.gflops:.1f}", _duration(row.mean_of("train_s"))]  # fmt: skip
        for s in sets:
            psnr = _pm(row.mean(s, "psnr"), row.std(s, "psnr"), 2, tex)
            if row.mean(s, "psnr") is not None and row.mean(s, "psnr") == best[(s, r.scale)] and len(rows) > 1:
                psnr = f"\\textbf{{{psnr}}}" if tex else f"**{psnr}**"
            score = f"{psnr} / {_pm(row.mean(s, 'ssim'), row.std(s, 'ssim'), 4, tex)}"
            bicubic = f"{_pm(row.mean(s, 'psnr_bicubic'), None, 2)} / {_pm(row.mean(s, 'ssim_bicubic'), None, 4)}"
            line += ["-" if row.mean(s, "psnr") is None else score, "-" if row.mean(s, "psnr_bicubic") is None else bicubic]
        out.append(line)
    return header, out


def markdown(rows: list[Row], sets: list[str]) -> str:
    header, body = cells(rows, sets)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(line) + " |" for line in body]
    lines.append(f"\nPSNR (dB) / SSIM: mean ± sample standard deviation over the seeds of a row; bold: the best PSNR of a set at a scale.")
    return "\n".join(lines)


def latex(rows: list[Row], sets: list[str]) -> str:
    """A booktabs table (`\\usepackage{booktabs}`)."""
    header, body = cells(rows, sets, tex=True)

    def escape(text: str) -> str:
        return re.sub(r"(?<!\\)([_%&#])", r"\\\1", text).replace("±", "$\\pm$")

    columns = "l" * 2 + "r" * 5 + "c" * (2 * len(sets))
    lines = [f"\\begin{{tabular}}{{{columns}}}", "\\toprule", " & ".join(escape(h) for h in header) + " \\\\", "\\midrule"]
    lines += [" & ".join(escape(c) for c in line) + " \\\\" for line in body]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines)


def write_csv(rows: list[Row], sets: list[str], path: Path) -> None:
    """Numbers only, one column each: means, standard deviations (empty for one seed) and bicubic."""
    header = ["method", "data", "scale", "runs", "parameters", "gflops_per_mp", "train_seconds", "fps", "sources"]
    for s in sets:
        header += [f"{s}_psnr", f"{s}_psnr_std", f"{s}_ssim", f"{s}_ssim_std", f"{s}_psnr_bicubic", f"{s}_ssim_bicubic"]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            r = row.first
            line = [row.label, r.data, r.scale, len(row.runs), r.params, r.gflops, row.mean_of("train_s"),
                    row.mean_of("fps"), " ".join(x.source for x in row.runs)]  # fmt: skip
            for s in sets:
                line += [row.mean(s, "psnr"), row.std(s, "psnr"), row.mean(s, "ssim"), row.std(s, "ssim"),
                         row.mean(s, "psnr_bicubic"), row.mean(s, "ssim_bicubic")]  # fmt: skip
            writer.writerow(["" if v is None else v for v in line])


# --- plots -------------------------------------------------------------------------------------------
def plots(rows: list[Row], set_name: str, out: Path, chosen: list[Row]) -> list[str]:
    """PSNR of `set_name` against parameters, FLOPs and frames/s, and the validation curves of the `chosen`
    rows; returns the names written (each as .png and .svg)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text in the SVG files, editable for a paper
    import matplotlib.pyplot as plt

    written = []
    scored = [row for row in rows if row.mean(set_name, "psnr") is not None and row.first.method != "Bicubic"]
    for name, attribute, xlabel in (
        ("psnr_vs_params", "params", "parameters"),
        ("psnr_vs_flops", "gflops", "GFLOPs per output megapixel"),
        ("psnr_vs_fps", "fps", "frames per second (benchmark.json)"),
    ):
        points = [(row, x) for row in scored if (x := row.mean_of(attribute))]
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        scales = sorted({row.first.scale for row, _ in points})
        for i, scale in enumerate(scales):
            colour = f"C{i}"
            mine = [(row, x) for row, x in points if row.first.scale == scale]
            ax.errorbar([x for _, x in mine], [row.mean(set_name, "psnr") for row, _ in mine],
                        yerr=[row.std(set_name, "psnr") or 0 for row, _ in mine], fmt="o", color=colour,
                        capsize=3, label=f"x{scale}")  # fmt: skip
            for row, x in mine:
                ax.annotate(row.label, (x, row.mean(set_name, "psnr")), textcoords="offset points", xytext=(5, 4), fontsize=8)
            bicubic = [v for row, _ in mine if (v := row.mean(set_name, "psnr_bicubic")) is not None]
            if bicubic:
                ax.axhline(statistics.fmean(bicubic), color=colour, linestyle=":", linewidth=1, label=f"bicubic x{scale}")
        ax.set_xscale("log")
        ax.set_title(f"{set_name}: mean of the seeds, bars one standard deviation", fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{set_name} Y-PSNR (dB)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        _save(fig, out / name)
        written.append(name)
    if chosen:
        fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4.2))
        for i, row in enumerate(chosen):
            for j, r in enumerate(x for x in row.runs if x.curve):
                points = curve_points(r.curve)
                label = row.label + (f" seed {r.seed}" if len(row.runs) > 1 else "")
                style = dict(color=f"C{i % 10}", linestyle=("-", "--", ":", "-.")[j % 4], marker="o", markersize=3, label=label)
                by_step.plot([p[0] for p in points], [p[1] for p in points], **style)
                by_time.plot([p[2] for p in points], [p[1] for p in points], **style)
        bicubic = {round(float(v), 2) for row in chosen for r in row.runs if r.curve
                   for v in [x.get("val/psnr_bicubic") for x in _validations(r.curve)] if v}  # fmt: skip
        for ax, xlabel in ((by_step, "training step"), (by_time, "training wall-clock seconds")):
            for value in sorted(bicubic):
                ax.axhline(value, color="grey", linestyle=":", linewidth=1, label=f"bicubic {value:.2f} dB")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("validation Y-PSNR (dB), monitored set")
            ax.grid(alpha=0.3)
        by_time.legend(fontsize=7)
        fig.tight_layout()
        _save(fig, out / "curves")
        written.append("curves")
    return written


def _save(fig, stem: Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(stem.with_suffix(".png"), dpi=100)
    fig.savefig(stem.with_suffix(".svg"))
    plt.close(fig)
