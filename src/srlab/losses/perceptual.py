"""Perceptual (feature reconstruction) loss: distances between VGG features of SR and HR images."""

from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from srlab.losses.vgg import VGGFeatures

CRITERIA = {"l1": F.l1_loss, "mse": F.mse_loss}


def check_mean_one_layers(layers: list[str]) -> None:
    """Mean-one normalisation divides by a mean activation, which only ReLU and pool outputs keep positive."""
    signed = [layer for layer in layers if layer.startswith("conv")]
    if signed:
        raise ValueError(f"normalize=true needs relu or pool layers (positive activations), not {signed}")


def mean_one(sr: Tensor, hr: Tensor) -> tuple[Tensor, Tensor]:
    """Divide both feature maps by the mean activation of the target (EnhanceNet's normalisation)."""
    scale = hr.mean().clamp_min(1e-6)
    return sr / scale, hr / scale


class PerceptualLoss(nn.Module):
    """sum over layers of weight * criterion(VGG(sr)[layer], VGG(hr)[layer]), each a mean over elements.

    Args:
        arch: "vgg16" or "vgg19".
        layers: {layer name: weight}, e.g. {"relu5_4": 1.0} (SRGAN) or {"conv5_4": 1.0} (ESRGAN).
        criterion: "l1" or "mse".
        weights_path, pretrained: see `VGGFeatures`.
        normalize: divide each layer's features by the mean of the HR image's (batch), so activations have
            mean one, as EnhanceNet does; the weights then do not depend on the VGG's activation scale.
    """

    def __init__(
        self,
        arch: str = "vgg19",
        layers: dict[str, float] | None = None,
        criterion: str = "l1",
        weights_path: str | Path | None = None,
        pretrained: bool = True,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        if criterion not in CRITERIA:
            raise ValueError(f"PerceptualLoss criterion {criterion!r} is not one of {sorted(CRITERIA)}")
        self.layers = {str(k): float(v) for k, v in (layers or {"relu5_4": 1.0}).items()}
        if normalize:
            check_mean_one_layers(list(self.layers))
        self.criterion, self.normalize = CRITERIA[criterion], normalize
        self.vgg = VGGFeatures(arch, list(self.layers), weights_path, pretrained)

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        features = self.vgg(sr)
        with torch.no_grad():
            targets = self.vgg(hr)
        total = sr.new_zeros((), dtype=torch.float32)
        for layer, weight in self.layers.items():
            x, y = features[layer], targets[layer]
            if self.normalize:
                x, y = mean_one(x, y)
            total = total + weight * self.criterion(x.float(), y.float())
        return total
