"""`srlab models`: every model of `conf/model/` with the scales it can be built at and switch to at run
time, its input, parameters and FLOPs per output megapixel.

    srlab models                 # a table in the terminal (also: python -m srlab.cli.zoo models)
    srlab models --markdown      # the table of docs/models.md

The last column names the weights that ship inside the package (`pretrained=<name>`) and their Set5 PSNR.

FLOPs count 2 per multiply-add (PyTorch's `FlopCounterMode`), measured on a 48x48-pixel output tile.
"""

import argparse
from dataclasses import dataclass

from hydra import compose, initialize_config_dir
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf
from rich.console import Console
from rich.table import Table

from srlab.cli import compare, mos, report
from srlab.cli.config import CONF_DIR
from srlab.cli.errors import reported_errors
from srlab.models.contract import cost, scales_text
from srlab.pretrained import manifest

CONF = CONF_DIR  # the package's configs: found from a wheel install too
LISTED_FOR_ANY = (2, 3, 4)  # the scales measured for a model that can be built at any integer scale
TILE = 48  # output pixels per side, a multiple of every scale but 8


@dataclass
class ModelInfo:
    name: str
    target: str
    input: str
    build_scales: tuple[int, ...]  # empty: any
    switches_to: str  # the scales a built net can switch to at run time
    params: dict[int, int]  # by measured scale
    gflops_per_mp: dict[int, float]


def describe(name: str, net_cfg) -> ModelInfo:
    build_scales = get_class(net_cfg._target_).build_scales
    params, gflops = {}, {}
    for scale in build_scales or LISTED_FOR_ANY:
        net = instantiate(OmegaConf.merge(net_cfg, {"scale": scale})).eval()
        params[scale], gflops[scale] = cost(net, TILE)
    kind = f"{'Y' if net.in_channels == 1 else 'RGB'}, {'pre-upsampled' if net.pre_upsampled else 'LR'}"
    switches_to = "the built one" if net.run_scales == (net.built_scale,) else scales_text(net.run_scales)
    return ModelInfo(name, net_cfg._target_, kind, build_scales, switches_to, params, gflops)


def zoo() -> list[ModelInfo]:
    """One entry per `conf/model/*.yaml`."""
    names = sorted(p.stem for p in (CONF / "model").glob("*.yaml") if not p.stem.startswith("_"))
    infos = []
    with initialize_config_dir(str(CONF), version_base="1.3"):
        for name in names:
            cfg = compose("train", overrides=[f"model={name}", "data=folder", "data.train=[]", "data.val={x:[]}"])
            infos.append(describe(name, cfg.model.net))
    return infos


def rows(infos: list[ModelInfo]) -> list[list[str]]:
    """One row per model; a figure per scale where it changes with the scale."""
    out = []
    for i in infos:
        params = list(dict.fromkeys(i.params.values()))
        measured = " ".join(f"x{s}" for s in i.params)
        out.append([
            i.name,
            i.target.rsplit(".", 1)[1],
            i.input,
            measured if i.build_scales else f"any ({measured} listed)",
            i.switches_to,
            " / ".join(f"{p:,}" for p in params),
            " / ".join(f"{g:.1f}" for g in i.gflops_per_mp.values()),
            shipped_weights(i.name),
        ])  # fmt: skip
    return out


def shipped_weights(model: str) -> str:
    """The shipped weights of `model=` (`pretrained=` names) with their Set5 PSNR, or '-'."""
    weights = [f"{name} ({w['scores']['set5']['psnr']:.2f} dB)" for name, w in sorted(manifest().items()) if w["model"] == model]
    return ", ".join(weights) or "-"


COLUMNS = ["model=", "class", "input", "built at", "switches to", "parameters", "GFLOPs per output MP",
           "shipped weights (Set5 PSNR)"]  # fmt: skip
NUMBERS = ("parameters", "GFLOPs per output MP")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="srlab")
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list the model zoo: scales, input, parameters, FLOPs")
    models.add_argument("--markdown", action="store_true", help="print a Markdown table")
    for command in (report, compare, mos):
        command.add_command(commands)
    args = parser.parse_args(argv)
    if args.command != "models":
        with reported_errors():
            args.run(args)
        return
    table_rows = rows(zoo())
    if args.markdown:
        print("| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS))
        for row in table_rows:
            print("| " + " | ".join(row) + " |")
        return
    table = Table(title="srlab model zoo (conf/model); one figure per scale where it changes")
    for c in COLUMNS:
        table.add_column(c, justify="right" if c in NUMBERS else "left")
    for row in table_rows:
        table.add_row(*row)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
