"""Networks from checkpoints of `train.py`, or from a model config alone (for models without parameters)."""

from pathlib import Path
from typing import Any

from hydra.utils import get_object, instantiate
from torch import nn

from srlab.models.contract import SRNet
from srlab.pretrained import entry, load_pretrained
from srlab.systems.checkpoint import load_net_weights, read_checkpoint


def load_net(ckpt_path: str | Path) -> SRNet:
    """The network of a `train.py` checkpoint, in eval mode on the CPU.

    The checkpoint holds the resolved net config (`net_config`, with `_target_`) and the system's
    state dict, where the net's weights are under `net.`; an EMA copy under `net_ema.` is preferred.
    """
    ckpt = read_checkpoint(ckpt_path, "ckpt_path")
    if "net_config" not in ckpt:
        raise ValueError(f"{ckpt_path} has no net_config, so its network cannot be rebuilt: was it written by train.py?")
    net = net_from_config(ckpt["net_config"], source=str(ckpt_path))
    load_net_weights(net, ckpt, f"ckpt_path {ckpt_path}")
    return net.eval()


def pretrained_net(name: str) -> SRNet:
    """The network of a shipped weight (`srlab.pretrained`), in eval mode on the CPU."""
    net = net_from_config(entry(name)["net"], source=f"pretrained={name}")
    load_pretrained(net, name)
    return net.eval()


def net_from_config(config: dict, source: str) -> SRNet:
    """Instantiate a net config (`_target_` and arguments) of an `SRNet`, the model contract.

    Every `_target_` must name an `nn.Module` class: a config read from a file may not call anything
    else (`weights_only=True` would mean little if the config could run `os.system`).
    """
    _check_targets(config, source)
    net = instantiate(config)
    if not isinstance(net, SRNet):
        raise ValueError(
            f"{source}: {type(net).__name__} does not declare its channels and scales: "
            "derive it from srlab.models.contract.SRNet"
        )
    return net.eval()


def _check_targets(node: Any, source: str) -> None:
    if isinstance(node, dict):
        if "_target_" in node:
            target = node["_target_"]
            try:
                obj = get_object(target)
            except ImportError as err:
                raise ValueError(f"{source}: cannot import _target_ {target!r}: {err}") from err
            if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
                raise ValueError(f"{source}: _target_ {target!r} is not an nn.Module class; refusing to call it")
        for value in node.values():
            _check_targets(value, source)
    elif isinstance(node, list | tuple):
        for value in node:
            _check_targets(value, source)
