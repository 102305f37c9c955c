"""Lightning callbacks."""

from srlab.callbacks.image_panels import ImagePanels
from srlab.callbacks.resume import ResumeLogSteps
from srlab.callbacks.stop import CheckpointOnStop

__all__ = ["CheckpointOnStop", "ImagePanels", "ResumeLogSteps"]
