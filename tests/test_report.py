"""`srlab report`: tables checked against the metrics the test writes into run folders, and the plots."""

import csv
import json
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from srlab.cli.zoo import main
from srlab.models import ESPCN, FSRCNN

FSRCNN_NET = {"_target_": "srlab.models.FSRCNN", "scale": "${data.scale}", "d": 16, "s": 8, "m": 2}
ESPCN_NET = {"_target_": "srlab.models.ESPCN", "scale": "${data.scale}"}


def fake_run(folder: Path, model: str, net: dict, seed: int, scores: dict[str, tuple[float, float]],
             bicubic: dict[str, tuple[float, float]], curve: list[tuple[int, float, float]], lr: float = 2e-3) -> Path:
    """A train.py run folder as train.py leaves it, with the test's own numbers: `.hydra/config.yaml` and
    `hydra.yaml`, `metrics.json` (test sets) and the CSV logger's `metrics.csv` (validation curve)."""
    (folder / ".hydra").mkdir(parents=True)
    config = {"task_name": "train", "seed": seed, "tags": ["dev"], "test": True,
              "data": {"_target_": "srlab.data.SRDataModule", "scale": 3, "train": ["/data/T91"],
                       "val": {"set5": ["/data/Set5"]}, "test": {"set5": ["/data/Set5"], "set14": ["/data/Set14"]}},
              "model": {"_target_": "srlab.systems.SRSystem", "net": net}, "optimizer": {"lr": lr},
              "paths": {"output_dir": str(folder)}, "logger": {"csv": {}}}  # fmt: skip
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    overrides = [f"model={model}", f"seed={seed}", f"optimizer.lr={lr}", "logger=csv"]
    hydra = {"hydra": {"runtime": {"choices": {"model": model, "data": "folder"}}, "overrides": {"task": overrides}}}
    (folder / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(hydra))
    metrics = {"ckpt_path": str(folder / "checkpoints" / "best.ckpt")}
    for set_name, (psnr, ssim) in scores.items():
        metrics |= {f"test/{set_name}/psnr": psnr, f"test/{set_name}/ssim": ssim,
                    f"test/{set_name}/psnr_bicubic": bicubic[set_name][0], f"test/{set_name}/ssim_bicubic": bicubic[set_name][1]}  # fmt: skip
    metrics |= {"val/psnr": 0.0, "val/ssim": 0.0}  # the test split wins over validation
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "csv" / "version_0").mkdir(parents=True)
    with open(folder / "csv" / "version_0" / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "step", "train/loss", "train/wall_s", "val/psnr"])
        for step, psnr, wall in curve:
            writer.writerow([0, step - 1, 0.1, "", ""])
            writer.writerow([0, step, "", wall, psnr])
        writer.writerow([0, curve[-1][0], "", "", curve[-1][1]])  # the final re-score: no wall-clock time
    return folder


BICUBIC = {"set5": (30.39, 0.8678), "set14": (27.53, 0.7738)}
FSRCNN_SCORES = {1: {"set5": (31.10, 0.8810), "set14": (28.02, 0.7900)},
                 2: {"set5": (31.30, 0.8830), "set14": (28.12, 0.7920)},
                 3: {"set5": (31.26, 0.8826), "set14": (28.10, 0.7916)}}  # fmt: skip
ESPCN_SCORES = {"set5": (30.95, 0.8790), "set14": (27.96, 0.7880)}


@pytest.fixture()
def runs(tmp_path: Path) -> Path:
    """A multirun: FSRCNN with seeds 1, 2, 3; ESPCN with seed 1; FSRCNN at another learning rate; and an
    unfinished job (no metrics.json)."""
    root = tmp_path / "multirun"
    for i, seed in enumerate((1, 2, 3)):
        fake_run(root / str(i), "fsrcnn", FSRCNN_NET, seed, FSRCNN_SCORES[seed], BICUBIC,
                 [(100, 30.5, 10.0 * seed), (200, 30.9, 20.0 * seed), (300, FSRCNN_SCORES[seed]["set5"][0], 30.0 * seed)])  # fmt: skip
    fake_run(root / "3", "espcn", ESPCN_NET, 1, ESPCN_SCORES, BICUBIC, [(100, 30.2, 5.0), (300, 30.95, 15.0)])
    fake_run(root / "4", "fsrcnn", FSRCNN_NET, 1, {"set5": (30.80, 0.8770), "set14": (27.90, 0.7860)}, BICUBIC,
             [(100, 30.1, 9.0), (300, 30.8, 27.0)], lr=1e-2)  # fmt: skip
    (root / "5" / ".hydra").mkdir(parents=True)
    (root / "5" / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": 1, "data": {"scale": 3}, "model": {}}))
    return root


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as f:
        return list(csv.DictReader(f))


def test_table_of_a_multirun(runs: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    main(["report", str(runs), "--out", str(out)])
    printed = capsys.readouterr().out
    assert f"skipped {runs / '5'}: no metrics.json" in printed
    rows = {r["method"]: r for r in read_csv(out / "report.csv")}
    assert set(rows) == {"fsrcnn optimizer.lr=0.002", "fsrcnn optimizer.lr=0.01", "espcn optimizer.lr=0.002"}
    seeds = rows["fsrcnn optimizer.lr=0.002"]
    assert seeds["runs"] == "3" and len(seeds["sources"].split()) == 3
    for set_name in ("set5", "set14"):
        psnrs = [FSRCNN_SCORES[s][set_name][0] for s in (1, 2, 3)]
        ssims = [FSRCNN_SCORES[s][set_name][1] for s in (1, 2, 3)]
        assert float(seeds[f"{set_name}_psnr"]) == pytest.approx(statistics.fmean(psnrs))
        assert float(seeds[f"{set_name}_psnr_std"]) == pytest.approx(statistics.stdev(psnrs))
        assert float(seeds[f"{set_name}_ssim"]) == pytest.approx(statistics.fmean(ssims))
        assert float(seeds[f"{set_name}_ssim_std"]) == pytest.approx(statistics.stdev(ssims))
        assert float(seeds[f"{set_name}_psnr_bicubic"]) == pytest.approx(BICUBIC[set_name][0])
    assert rows["espcn optimizer.lr=0.002"]["set5_psnr_std"] == ""  # one seed: no spread
    assert float(rows["espcn optimizer.lr=0.002"]["set14_psnr"]) == pytest.approx(27.96)
    # parameters as the net has them; FLOPs measured; training time the mean of the seeds' last wall_s
    assert int(seeds["parameters"]) == sum(p.numel() for p in FSRCNN(3, d=16, s=8, m=2).parameters())
    assert int(rows["espcn optimizer.lr=0.002"]["parameters"]) == sum(p.numel() for p in ESPCN(3).parameters())
    assert float(seeds["gflops_per_mp"]) > 0
    assert float(seeds["train_seconds"]) == pytest.approx(statistics.fmean([30.0, 60.0, 90.0]))
    assert seeds["data"] == "T91" and seeds["scale"] == "3"

    markdown = (out / "report.md").read_text()
    mean, std = statistics.fmean([31.10, 31.30, 31.26]), statistics.stdev([31.10, 31.30, 31.26])
    assert f"**{mean:.2f} ± {std:.2f}** / " in markdown  # the best set5 PSNR, in bold
    assert "| espcn optimizer.lr=0.002 | T91 | x3 | 1 | " in markdown
    assert "| 30.39 / 0.8678 |" in markdown  # bicubic beside
    assert markdown in printed
    latex = (out / "report.tex").read_text()
    assert latex.startswith("\\begin{tabular}") and latex.rstrip().endswith("\\end{tabular}")
    assert all(rule in latex for rule in ("\\toprule", "\\midrule", "\\bottomrule"))
    assert f"\\textbf{{{mean:.2f} $\\pm$ {std:.2f}}}" in latex
    assert "optimizer.lr=0.01" in latex and "_" not in latex.replace("\\_", "")


def distinct_colours(path: Path) -> int:
    return len(np.unique(np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3), axis=0))


def test_plots(runs: Path, tmp_path: Path) -> None:
    (runs / "3" / "benchmark.json").write_text(json.dumps({"fps": 12.5}))
    (runs / "0" / "benchmark.json").write_text(json.dumps({"fps": 7.0}))
    out = tmp_path / "report"
    main(["report", str(runs), "--out", str(out), "--set", "set14", "--curves", "fsrcnn optimizer.lr=0.002", "espcn"])
    for name in ("psnr_vs_params", "psnr_vs_flops", "psnr_vs_fps", "curves"):
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        assert png.stat().st_size > 8_000 and distinct_colours(png) > 20, name  # points, labels, lines: not blank
        assert svg.read_text().lstrip().startswith("<?xml") and "<path" in svg.read_text()
    curves = (out / "curves.svg").read_text()
    assert "fsrcnn optimizer.lr=0.002 seed 3" in curves and "espcn" in curves and "lr=0.01" not in curves
    assert "training wall-clock seconds" in curves and "training step" in curves
    assert "frames per second" in (out / "psnr_vs_fps.svg").read_text()


def test_eval_outputs_and_a_wandb_export(tmp_path: Path) -> None:
    evald = tmp_path / "eval"
    (evald / ".hydra").mkdir(parents=True)
    (evald / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"task_name": "eval", "pretrained": "fsrcnn_x3"}))
    with open(evald / "results.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["method", "scale", "set", "psnr", "ssim", "images"])
        writer.writerows([["Bicubic", 3, "set5", 30.3876, 0.867831, 5], ["FSRCNN", 3, "set5", 32.4321, 0.906, 5]])
    export = tmp_path / "wandb_export.csv"
    with open(export, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "State", "Runtime", "seed", "data.scale", "model.net._target_", "model/params/total",
                         "val/psnr", "final/test/set5/psnr", "final/test/set5/ssim", "final/test/set5/psnr_bicubic",
                         "final/test/set5/ssim_bicubic"])  # fmt: skip
        # val/psnr is the curve's summary (its max); the final scoring of the best checkpoint is what counts
        writer.writerow(["espcn-1", "finished", 120, 1, 3, "srlab.models.ESPCN", 22729, 99, 31.0, 0.88, 30.39, 0.8678])
        writer.writerow(["espcn-2", "finished", 130, 2, 3, "srlab.models.ESPCN", 22729, 99, 31.2, 0.882, 30.39, 0.8678])
    out = tmp_path / "report"
    main(["report", str(evald), str(export), "--out", str(out)])
    rows = {r["method"]: r for r in read_csv(out / "report.csv")}
    fsrcnn = rows["FSRCNN"]
    assert float(fsrcnn["set5_psnr"]) == pytest.approx(32.4321) and float(fsrcnn["set5_psnr_bicubic"]) == pytest.approx(30.3876)
    assert int(fsrcnn["parameters"]) == 12809 and fsrcnn["train_seconds"] != ""  # from the shipped weight's manifest
    espcn = next(r for name, r in rows.items() if name.startswith("ESPCN"))
    assert espcn["runs"] == "2" and float(espcn["set5_psnr"]) == pytest.approx(31.1)
    assert float(espcn["set5_psnr_std"]) == pytest.approx(statistics.stdev([31.0, 31.2]))
    assert float(espcn["train_seconds"]) == pytest.approx(125) and espcn["parameters"] == "22729"


def test_benchmark_writes_frames_per_second(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "runs" / "0", "espcn", ESPCN_NET, 1, ESPCN_SCORES, BICUBIC, [(100, 30.2, 5.0)])
    (run / "checkpoints").mkdir()
    net = ESPCN(3)
    config = {"_target_": "srlab.models.ESPCN", "scale": 3}
    torch.save({"net_config": config, "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()}},
               run / "checkpoints" / "best.ckpt")  # fmt: skip
    main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "report"), "--benchmark", "96x64"])
    info = json.loads((run / "benchmark.json").read_text())
    assert info["fps"] > 0 and info["output"] == [96, 64] and info["frames"] >= 1
    assert (tmp_path / "report" / "psnr_vs_fps.png").exists()
    assert float(read_csv(tmp_path / "report" / "report.csv")[0]["fps"]) == pytest.approx(info["fps"])


@pytest.mark.parametrize(
    "case", ["empty", "no_metrics", "missing", "bad_size", "unknown_set", "unknown_curves", "unscored_export"]
)
def test_clear_messages(case: str, runs: Path, tmp_path: Path, caplog) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    unscored = tmp_path / "unscored.csv"  # a W&B export of runs that never validated
    unscored.write_text("Name,State,Runtime,data.scale,train/loss\nespcn-1,crashed,12,3,0.05\n")
    args, message = {
        "empty": ([str(empty)], f"{empty} holds no runs"),
        "no_metrics": ([str(runs / "5")], f"no run under {runs / '5'} has metrics"),
        "missing": ([str(tmp_path / "absent")], "is neither a run folder nor a W&B CSV export"),
        "bad_size": ([str(runs), "--benchmark", "big"], "give the output size as WIDTHxHEIGHT"),
        "unknown_set": ([str(runs), "--set", "urban100"], "--set urban100: no run scored it; the sets are set5, set14"),
        "unknown_curves": ([str(runs), "--curves", "vdsr"], "--curves vdsr: no row of that name"),
        "unscored_export": ([str(unscored)], f"no run of {unscored} has PSNR/SSIM and data.scale"),
    }[case]
    with pytest.raises(SystemExit) as exit_info:
        main(["report", *args, "--out", str(tmp_path / "report")])
    assert exit_info.value.code == 1 and message in caplog.text
