"""Lightning callbacks."""

from srlab.callbacks.image_panels import ImagePanels

__all__ = ["ImagePanels"]
