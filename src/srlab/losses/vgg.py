"""A frozen ImageNet VGG16/VGG19 feature extractor for perceptual and texture losses (no torchvision needed).

Layers are named as in the papers: `conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ...`; a `conv`
layer is the convolution's output before its ReLU (ESRGAN's conv5_4), a `relu` layer the same map after it
(SRGAN's relu5_4, Johnson et al.'s relu2_2). Parameters carry torchvision's key names (`features.0.weight`,
...), so torchvision's published ImageNet checkpoints load as they are; the classifier's keys in them are
not needed and are skipped.

The weights are frozen and kept out of `state_dict()`: a Lightning checkpoint of a system holding a
perceptual loss stays the size of the networks it trains, and loading one never expects or overrides them.
"""

import pickle
from pathlib import Path

import torch
from torch import Tensor, nn

from srlab.data.download import DownloadError, download

# Convolutions per block (5 blocks of 64, 128, 256, 512, 512 channels, each ending in a 2x2 max-pool).
BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
CHANNELS = (64, 128, 256, 512, 512)

# torchvision's ImageNet checkpoints: the file name carries the first 8 hex digits of its SHA-256.
BASE_URL = "https://download.pytorch.org/models/"
WEIGHTS = {
    "vgg16": ("vgg16-397923af.pth", "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0"),
    "vgg19": ("vgg19-dcbb9e9d.pth", "dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44"),
}

# The networks were trained on RGB in [0, 1] normalised with these ImageNet statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names(arch: str) -> list[str]:
    """The names of `features[i]` in order: conv and relu per convolution, then pool per block."""
    if arch not in BLOCKS:
        raise ValueError(f"VGG arch {arch!r} is not one of {sorted(BLOCKS)}")
    names = []
    for block, convs in enumerate(BLOCKS[arch], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def default_weights_dir() -> Path:
    """torch's own download cache, where torchvision keeps these files."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_file(arch: str, weights_path: str | Path | None = None) -> Path:
    """The published checkpoint for `arch`, downloaded (SHA-256 checked) into a folder when missing.

    `weights_path` is a `.pth` file, or the folder that holds (or will hold) the file under its published
    name; by default torch's download cache.
    """
    filename, sha256 = WEIGHTS[arch]
    path = Path(weights_path) if weights_path is not None else default_weights_dir()
    if path.suffix in (".pth", ".pt"):
        if not path.is_file():
            raise FileNotFoundError(f"VGG weights file {path} does not exist (torchvision's {filename} expected)")
        return path
    url = BASE_URL + filename
    try:
        return download(url, path, sha256=sha256)
    except DownloadError as err:
        reason = str(err).partition("\n")[0]
        raise DownloadError(
            f"The ImageNet {arch.upper()} weights {filename} are not in {path} and could not be downloaded "
            f"({reason}).\nDownload {url} by hand and put it in the folder {path} (torch keeps a copy in "
            f"{default_weights_dir()} on machines where torchvision has fetched it)."
        ) from None


class VGGFeatures(nn.Module):
    """Frozen VGG `features` up to the deepest of `layers`; forward(x) -> {layer: features}.

    Args:
        arch: "vgg16" or "vgg19".
        layers: names from `layer_names(arch)`, e.g. ["relu2_2"] or ["conv5_4"].
        weights_path: see `weights_file`.
        pretrained: load the ImageNet weights; False keeps the random initialisation (tests).

    Input: RGB images in [0, 1], (B, 3, H, W); ImageNet normalisation is applied inside.
    """

    def __init__(
        self,
        arch: str = "vgg19",
        layers: list[str] | tuple[str, ...] = ("relu5_4",),
        weights_path: str | Path | None = None,
        pretrained: bool = True,
    ) -> None:
        super().__init__()
        names = layer_names(arch)
        unknown = [layer for layer in layers if layer not in names]
        if unknown or not layers:
            raise ValueError(f"VGG layers {list(unknown or layers)} are not among {arch}'s: {', '.join(names)}")
        self.arch, self.layers = arch, list(layers)
        self.names = names[: max(names.index(layer) for layer in layers) + 1]
        modules: list[nn.Module] = []
        in_channels, channels = 3, iter(c for c, n in zip(CHANNELS, BLOCKS[arch]) for _ in range(n))
        for name in self.names:
            if name.startswith("conv"):
                out_channels = next(channels)
                modules.append(nn.Conv2d(in_channels, out_channels, 3, padding=1))
                in_channels = out_channels
            elif name.startswith("relu"):
                modules.append(nn.ReLU())  # not in place: the conv output before it may be a requested layer
            else:
                modules.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*modules)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if pretrained:
            self.load_published(weights_file(arch, weights_path))
        else:  # torchvision's initialisation, which keeps activations from vanishing through the layers
            for conv in self.features:
                if isinstance(conv, nn.Conv2d):
                    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(conv.bias)
        self.requires_grad_(False)
        self.eval()
        self.register_state_dict_post_hook(_drop_weights)
        self.register_load_state_dict_pre_hook(_keep_weights)

    def load_published(self, path: str | Path) -> None:
        """Copy the `features.*` tensors of a torchvision VGG checkpoint into this module."""
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
            raise RuntimeError(
                f"cannot read the VGG weights {path} ({err}); if the file is damaged, delete it: "
                "a file missing from a weights folder is downloaded again"
            ) from None
        for name, param in self.features.named_parameters():
            key = f"features.{name}"
            if key not in state:
                raise ValueError(f"{path} has no {key}: not a torchvision {self.arch} checkpoint")
            if state[key].shape != param.shape:
                raise ValueError(
                    f"{path}: {key} has shape {tuple(state[key].shape)}, {self.arch} needs {tuple(param.shape)}"
                )
            with torch.no_grad():
                param.copy_(state[key])

    def train(self, mode: bool = True) -> "VGGFeatures":
        return super().train(False)  # a fixed feature extractor: always in eval mode

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGGFeatures takes RGB images (B, 3, H, W), got shape {tuple(x.shape)}")
        x = (x - self.mean) / self.std
        out = {}
        for name, module in zip(self.names, self.features):
            x = module(x)
            if name in self.layers:
                out[name] = x
        return out


def _drop_weights(module: VGGFeatures, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    for name, _ in module.named_parameters():
        state_dict.pop(prefix + name, None)


def _keep_weights(module: VGGFeatures, state_dict: dict, prefix: str, *args) -> None:
    # Checkpoints do not carry the VGG weights: load the module's own in their place.
    for name, param in module.named_parameters():
        state_dict[prefix + name] = param.detach()
