"""LPIPS (Zhang et al., CVPR 2018) through torchmetrics, where it can be built.

torchmetrics' `LearnedPerceptualImagePatchSimilarity` needs torchvision and its backbone's ImageNet weights,
torchvision's published checkpoint, read from the torch hub cache (`<torch hub dir>/checkpoints/`) or
downloaded there; the linear layers on top ship with torchmetrics. `build_lpips` gives the metric, or None
and one notice naming what is missing: systems log `val/lpips` only when they have one.
"""

import logging
from pathlib import Path

import torch
from lightning_utilities.core.rank_zero import rank_zero_only
from torch import Tensor
from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

# torchmetrics' backbones and torchvision's ImageNet checkpoints of them
BACKBONES = {
    "alex": ("AlexNet", "alexnet-owt-7be5be79.pth"),
    "vgg": ("VGG16", "vgg16-397923af.pth"),
    "squeeze": ("SqueezeNet 1.1", "squeezenet1_1-b8a52dc0.pth"),
}

log = logging.getLogger(__name__)


class LPIPS(LearnedPerceptualImagePatchSimilarity):
    """torchmetrics' LPIPS of RGB images in [0, 1], computed in float32 and kept out of checkpoints.

    The network's weights become non-persistent buffers: they still follow `.to(device)`, but a
    checkpoint neither holds nor expects them (so it loads where LPIPS is unavailable), and optimisers
    built from `parameters()` never see them.
    """

    def __init__(self, net_type: str = "alex") -> None:
        super().__init__(net_type=net_type, normalize=True)
        for module in self.net.modules():
            for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
                delattr(module, name)
                module.register_buffer(name, tensor.detach(), persistent=False)

    def update(self, img1: Tensor, img2: Tensor) -> None:
        # Validation may run under bf16 autocast; the score is defined in float32.
        with torch.autocast(img1.device.type, enabled=False):
            super().update(img1.float(), img2.float())


def _notice(message: str) -> None:
    if getattr(rank_zero_only, "rank", 0) == 0:  # once under DDP: Lightning sets the rank
        log.warning("%s", message)


def build_lpips(net_type: str = "alex") -> LPIPS | None:
    """LPIPS with the `net_type` backbone ("alex", "vgg" or "squeeze"), or None and a notice when it can't be built."""
    if net_type not in BACKBONES:
        raise ValueError(f"LPIPS net_type must be one of {sorted(BACKBONES)}, got {net_type!r}")
    backbone, file = BACKBONES[net_type]
    try:
        return LPIPS(net_type)
    except ModuleNotFoundError as err:
        missing = err.name or "torchvision"
        _notice(f"LPIPS is skipped (no val/lpips): it needs {missing}, which is not installed (pip install {missing}).")
    except OSError as err:  # offline without the cached checkpoint, or the download failed
        folder = Path(torch.hub.get_dir()) / "checkpoints"
        _notice(
            f"LPIPS is skipped (no val/lpips): the ImageNet weights of its {backbone} backbone could not be loaded "
            f"({err}). Put {file} (https://download.pytorch.org/models/{file}) in {folder}."
        )
    return None
