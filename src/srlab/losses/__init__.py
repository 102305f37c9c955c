"""Losses: `(sr, hr) -> scalar` modules."""

from srlab.losses.multi import MultiOutputLoss
from srlab.losses.pixel import CharbonnierLoss

__all__ = ["CharbonnierLoss", "MultiOutputLoss"]
