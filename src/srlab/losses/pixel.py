"""Pixel losses beyond torch's L1 and MSE."""

import torch
from torch import Tensor, nn


class CharbonnierLoss(nn.Module):
    """mean(sqrt((sr - hr)^2 + eps^2)), a differentiable L1 (Lai et al. 2017 use eps = 1e-3)."""

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        return torch.sqrt((sr - hr).pow(2) + self.eps**2).mean()


class PixelSum(nn.Module):
    """`loss` summed over each image's values instead of averaged, times `factor`; mean over the batch.

    Caffe's EuclideanLoss (SRCNN, FSRCNN, DRRN) is PixelSum(MSELoss, 0.5), VDSR's 1/2 ||r - f(x)||^2 too,
    and the MatConvNet L1 of LapSRN is PixelSum(L1). With it, the papers' learning rates, weight decay
    and gradient clipping keep their meaning; with an averaged loss each gradient is C*H*W times smaller.
    `loss` must average over all its elements, as torch's losses and `CharbonnierLoss` do.
    """

    def __init__(self, loss: nn.Module, factor: float = 1.0) -> None:
        super().__init__()
        self.loss, self.factor = loss, factor

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        return self.loss(sr, hr) * (sr[0].numel() * self.factor)
