"""Geometric self-ensemble (Lim et al. 2017, the "+" rows of SR papers' tables)."""

from collections.abc import Callable

import torch
from torch import Tensor


def self_ensemble(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """`fn` averaged over the 8 flips and 90-degree rotations of its input, each output transformed back.

    The result maps (B, C, h, w) to what `fn` returns, in float32, at 8 calls of `fn` each; `fn` must
    accept the rotated (B, C, w, h) inputs too.
    """

    def ensembled(x: Tensor) -> Tensor:
        total = None
        for flip in (False, True):
            flipped = x.flip(-1) if flip else x
            for k in range(4):
                y = torch.rot90(fn(torch.rot90(flipped, k, dims=(-2, -1))), -k, dims=(-2, -1))
                y = (y.flip(-1) if flip else y).float()
                total = y if total is None else total + y
        return total / 8

    return ensembled
