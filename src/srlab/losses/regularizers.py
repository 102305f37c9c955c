"""Regularisers of the SR image alone, in the `(sr, hr) -> scalar` form of the other losses."""

from torch import Tensor, nn


class TVLoss(nn.Module):
    """Total variation: mean squared difference between horizontal neighbours plus the same for vertical ones.

    The squared (beta = 2) form is the one Johnson et al.'s code regularises with. `hr` is ignored.
    """

    def forward(self, sr: Tensor, hr: Tensor | None = None) -> Tensor:
        dx = sr[..., :, 1:] - sr[..., :, :-1]
        dy = sr[..., 1:, :] - sr[..., :-1, :]
        return dx.float().pow(2).mean() + dy.float().pow(2).mean()
