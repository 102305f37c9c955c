"""Networks from checkpoints of `train.py` (files or W&B artifacts), or from a model config alone (for models
without parameters)."""

import hashlib
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_object, instantiate
from torch import nn

from srlab.models.contract import SRNet
from srlab.pretrained import entry, load_pretrained
from srlab.systems.checkpoint import load_net_weights, read_checkpoint


WANDB_PREFIX = "wandb:"


def fetch_checkpoint(ckpt_path: str, download_to: Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint file that `ckpt_path` names, and what a run records of it.

    `ckpt_path` is a file, or a W&B model artifact `wandb:<entity>/<project>/<name>:<alias or version>`
    (e.g. `wandb:me/srlab/model-1a2b3c4d:best`, as `callbacks.checkpoint_artifacts` logs them), which is
    downloaded into `download_to`; an online W&B run records that it used the artifact. The record: the
    file, its SHA-256, the artifact's full name with its version, and the W&B run that trained it.
    """
    record: dict[str, Any] = {}
    if str(ckpt_path).startswith(WANDB_PREFIX):
        import wandb

        ref = str(ckpt_path).removeprefix(WANDB_PREFIX)
        try:
            run = wandb.run
            online = run is not None and not run.offline
            artifact = run.use_artifact(ref, type="model") if online else wandb.Api().artifact(ref, type="model")
            folder = Path(artifact.download(root=str(download_to / "artifacts" / ref.rsplit("/", 1)[-1])))
        except Exception as err:  # wandb's errors: not logged in, no server, no such artifact
            raise ValueError(
                f"ckpt_path={ckpt_path}: cannot fetch the W&B artifact {ref} ({type(err).__name__}: {err}); "
                "artifacts come from the W&B server: `wandb login`, or give the checkpoint file"
            ) from err
        files = sorted(folder.rglob("*.ckpt"))
        if len(files) != 1:
            raise ValueError(f"ckpt_path={ckpt_path}: the artifact holds {len(files)} .ckpt files, not one")
        path, record["artifact"] = files[0], artifact.qualified_name
    else:
        path = Path(ckpt_path)
    if path.is_file():
        record |= {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        try:  # mmap: only the small entries are read; an unreadable file is named by load_net
            trained_by = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("wandb")
        except Exception:
            trained_by = None
        if trained_by:
            record["trained_by"] = trained_by
    return path, record


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
