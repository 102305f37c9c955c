"""Losses: `(sr, hr) -> scalar` modules on RGB images in [0, 1], and the adversarial objectives."""

from srlab.losses.adversarial import AdversarialLoss
from srlab.losses.composite import WeightedSum
from srlab.losses.multi import MultiOutputLoss
from srlab.losses.perceptual import PerceptualLoss
from srlab.losses.pixel import CharbonnierLoss, PixelSum
from srlab.losses.regularizers import TVLoss
from srlab.losses.texture import GramLoss
from srlab.losses.vgg import VGGFeatures

__all__ = [
    "AdversarialLoss",
    "CharbonnierLoss",
    "GramLoss",
    "MultiOutputLoss",
    "PerceptualLoss",
    "PixelSum",
    "TVLoss",
    "VGGFeatures",
    "WeightedSum",
]
