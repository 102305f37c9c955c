"""Weights trained with srlab that ship inside the package: `manifest.json` and one `.pt` file per net.

Each manifest entry holds the net's config (`_target_` and arguments), the recipe and data that trained
it, the run's steps, wall time and hardware, its Set5/Set14 scores, the paper's figures and the file's
SHA-256, which is checked on every load. Files are plain state dicts, read with `weights_only=True`.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from srlab.models.contract import SRNet, check_scale

FOLDER = Path(__file__).resolve().parent


@cache
def manifest() -> dict[str, dict]:
    """Every shipped weight by name (`fsrcnn_x3`, ...)."""
    return json.loads((FOLDER / "manifest.json").read_text())


def names() -> list[str]:
    return sorted(manifest())


def entry(name: str) -> dict:
    """The manifest entry of `name`; an unknown name lists the available ones."""
    if name not in manifest():
        raise KeyError(f"pretrained={name!r} is not a shipped weight; available: {', '.join(names())}")
    return manifest()[name]


def state_dict(name: str, folder: Path = FOLDER) -> dict[str, Tensor]:
    """The net weights of `name`, after checking the file against the manifest's SHA-256."""
    info = entry(name)
    path = folder / info["file"]
    if not path.is_file():
        raise FileNotFoundError(f"pretrained={name}: weight file {path} is missing; reinstall srlab")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != info["sha256"]:
        raise ValueError(f"pretrained={name}: {path} has SHA-256 {digest}, the manifest says {info['sha256']}; reinstall srlab")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_pretrained(net: SRNet, name: str) -> None:
    """Load the shipped weight `name` into `net`: the same network, built at the weight's scale or at one
    the weight's net can switch to (any for a pre-upsampled net, a head of a multi-scale one)."""
    info = entry(name)
    cls, scale = info["net"]["_target_"].rsplit(".", 1)[1], info["net"]["scale"]
    if type(net).__name__ != cls:
        raise ValueError(f"pretrained={name} holds a {cls}, not a {type(net).__name__}: pick model={info['model']}")
    # Same class and arguments: the weight's net can switch to the net's scale iff the net can switch to its.
    built = f"but the net is built at x{net.built_scale} (data.scale)"
    check_scale(net, scale, f"pretrained={name} is a x{scale} {cls}, {built}")
    try:
        net.load_state_dict(state_dict(name))
    except RuntimeError as err:
        raise ValueError(f"pretrained={name} does not fit this {cls}: its arguments differ from {info['net']}") from err
