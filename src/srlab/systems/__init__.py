"""LightningModules: they receive net, loss, optimizer and scheduler from config."""

from srlab.systems.sr import SRSystem

__all__ = ["SRSystem"]
