"""Pure tensor operations shared by models, data and metrics (torch only)."""

from srlab.ops.color import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from srlab.ops.filter import gaussian_filter
from srlab.ops.resize import imresize

__all__ = ["gaussian_filter", "imresize", "rgb_to_y", "rgb_to_ycbcr", "ycbcr_to_rgb"]
