"""Losses: `(sr, hr) -> scalar` modules."""

from srlab.losses.pixel import CharbonnierLoss

__all__ = ["CharbonnierLoss"]
