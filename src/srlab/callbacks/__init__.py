"""Lightning callbacks."""

from srlab.callbacks.artifacts import CheckpointArtifacts
from srlab.callbacks.ema import EMA
from srlab.callbacks.image_panels import ImagePanels
from srlab.callbacks.resume import ResumeLogSteps
from srlab.callbacks.stop import CheckpointOnStop

__all__ = ["EMA", "CheckpointArtifacts", "CheckpointOnStop", "ImagePanels", "ResumeLogSteps"]
