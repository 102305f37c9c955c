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
