"""Lightning callbacks."""

from srlab.callbacks.image_panels import ImagePanels
from srlab.callbacks.stop import CheckpointOnStop

__all__ = ["CheckpointOnStop", "ImagePanels"]
