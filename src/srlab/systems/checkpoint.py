"""Reading a network's weights from a checkpoint of `train.py` (loaded with `weights_only=True`)."""

import pickle
from pathlib import Path

import torch
from torch import Tensor, nn


def read_checkpoint(path: str | Path, option: str) -> dict:
    """The checkpoint at `path` as a dict with a `state_dict`; errors name `option` and the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{option}: checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as err:  # OSError: a cut zip
        raise ValueError(f"{option}: {path} is not a PyTorch checkpoint: {err}") from err
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise TypeError(f"{option}: {path} is not a Lightning checkpoint: it has no state_dict")
    return ckpt


def load_net_weights(net: nn.Module, ckpt: dict, source: str) -> None:
    """Load the net's weights of a system's state dict into `net`: the EMA copy (`net_ema.`) when there
    is one, else `net.`."""
    state: dict[str, Tensor] = ckpt["state_dict"]
    prefix = "net_ema." if any(k.startswith("net_ema.") for k in state) else "net."
    weights = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
    if not weights:
        raise ValueError(f"{source} holds no 'net.' weights: is it a checkpoint of train.py?")
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{source}: the weights under '{prefix}' do not fit {type(net).__name__}: {err}") from err
