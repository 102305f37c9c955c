"""Data: image folders, the sample set, degradations and the Lightning DataModule."""

from srlab.data.datamodule import SRDataModule

__all__ = ["SRDataModule"]
