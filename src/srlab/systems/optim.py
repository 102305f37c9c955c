"""Optimizers with per-module options, built from config."""

from collections.abc import Callable
from importlib import import_module
from typing import Any

from torch import nn
from torch.optim import Optimizer


def _locate(path: str) -> Callable[..., Optimizer]:
    module, _, name = path.rpartition(".")
    try:
        return getattr(import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ValueError(f"optimizer.algorithm: cannot import {path!r}") from err


def make_optimizer(
    module: nn.Module, algorithm: str, param_groups: list[dict[str, Any]] | None = None, **defaults: Any
) -> Optimizer:
    """Build `algorithm` (a dotted path such as `torch.optim.SGD`) over `module`'s parameters.

    Each entry of `param_groups` names `modules` (prefixes of parameter names, such as
    `reconstruction` or `body.3`) and the options that differ for them (`lr`, `weight_decay`, ...);
    a parameter takes the first group whose prefix matches, the rest take `defaults`.
    """
    groups = [{**dict(g), "params": []} for g in (param_groups or [])]
    rest = []
    for name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        for group in groups:
            if any(name == m or name.startswith(f"{m}.") for m in group["modules"]):
                group["params"].append(param)
                break
        else:
            rest.append(param)
    for group in groups:
        if not group["params"]:
            names = [n for n, _ in module.named_parameters()]
            raise ValueError(f"optimizer.param_groups: modules {list(group['modules'])} match no parameter of {names}")
        del group["modules"]
    return _locate(algorithm)([{"params": rest}, *groups] if rest else groups, **defaults)
