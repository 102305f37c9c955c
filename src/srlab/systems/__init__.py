"""LightningModules: they receive net, loss, optimizer and scheduler from config."""

from srlab.systems.gan import GANSystem
from srlab.systems.sr import SRSystem

__all__ = ["GANSystem", "SRSystem"]
