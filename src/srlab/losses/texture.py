"""Texture loss: distances between Gram matrices of VGG features, over whole images or 16x16 patches.

Gatys et al. describe a texture by the correlations between feature channels; EnhanceNet (Sajjadi et al.
2017) matches them patch by patch between SR and HR images, so textures are matched locally.
"""

from pathlib import Path

import torch
from torch import Tensor, nn

from srlab.losses.perceptual import check_mean_one_layers, mean_one
from srlab.losses.vgg import VGGFeatures


def gram_matrix(features: Tensor, patch_size: int | None = None) -> Tensor:
    """(B, C, H, W) -> (B, P, C, C): F F^T / N for each of P patches of N = patch_size^2 positions.

    Without `patch_size` the whole map is one patch (P = 1, N = H W). Patches tile the map from its
    top-left corner; rows and columns beyond the last whole patch are left out.
    """
    b, c, h, w = features.shape
    if patch_size is None:
        patches = features.reshape(b, 1, c, h * w)
    else:
        if h < patch_size or w < patch_size:
            raise ValueError(f"a feature map of {h}x{w} is smaller than one {patch_size}x{patch_size} texture patch")
        rows, cols = h // patch_size, w // patch_size
        x = features[:, :, : rows * patch_size, : cols * patch_size]
        x = x.reshape(b, c, rows, patch_size, cols, patch_size).permute(0, 2, 4, 1, 3, 5)
        patches = x.reshape(b, rows * cols, c, patch_size * patch_size)
    return patches @ patches.transpose(-1, -2) / patches.shape[-1]


def layer_stride(layer: str) -> int:
    """How many image pixels one position of `layer` spans: 2 per pool before it (`relu3_1`: 4)."""
    block = int(layer[4])  # conv3_1, relu3_1, pool3: block 3
    return 2 ** (block if layer.startswith("pool") else block - 1)


class GramLoss(nn.Module):
    """sum over layers of weight * mean over images and patches of ||G(VGG(sr)) - G(VGG(hr))||_F^2.

    Args:
        arch: "vgg16" or "vgg19".
        layers: {layer name: weight}.
        patch_size: side of the texture patches in image pixels (EnhanceNet: 16); a layer whose positions
            span s pixels (s = 2 per pool before it) is cut into patches of patch_size / s positions.
            None: one Gram matrix per image.
        normalize: divide features by the HR batch's mean activation first (EnhanceNet), see `PerceptualLoss`.
        weights_path, pretrained: see `VGGFeatures`.

    The Gram matrix is averaged over positions (`gram_matrix`), so weights do not depend on image size;
    a weight w' for the plain sum F F^T over N positions (EnhanceNet's) is w = w' N^2 here.
    """

    def __init__(
        self,
        arch: str = "vgg19",
        layers: dict[str, float] | None = None,
        patch_size: int | None = None,
        normalize: bool = False,
        weights_path: str | Path | None = None,
        pretrained: bool = True,
    ) -> None:
        super().__init__()
        self.layers = {str(k): float(v) for k, v in (layers or {"relu1_1": 1.0}).items()}
        self.vgg = VGGFeatures(arch, list(self.layers), weights_path, pretrained)
        if normalize:
            check_mean_one_layers(list(self.layers))
        self.normalize = normalize
        self.patch_sizes: dict[str, int | None] = {}
        for layer in self.layers:
            stride = layer_stride(layer)
            if patch_size is not None and patch_size % stride:
                raise ValueError(f"GramLoss patch_size {patch_size} is not a multiple of {layer}'s stride {stride}")
            self.patch_sizes[layer] = None if patch_size is None else patch_size // stride

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        features = self.vgg(sr)
        with torch.no_grad():
            targets = self.vgg(hr)
        total = sr.new_zeros((), dtype=torch.float32)
        # Grams sum many products: in float32 even under bf16 autocast, or differences drown in rounding.
        with torch.autocast(sr.device.type, enabled=False):
            for layer, weight in self.layers.items():
                x, y = features[layer].float(), targets[layer].float()
                if self.normalize:
                    x, y = mean_one(x, y)
                size = self.patch_sizes[layer]
                diff = gram_matrix(x, size) - gram_matrix(y, size)
                total = total + weight * diff.pow(2).sum(dim=(-2, -1)).mean()
        return total
