"""Image-quality metrics with the SR paper protocol, as torchmetrics `Metric`s (exact under DDP)."""

from srlab.metrics.lpips import LPIPS, build_lpips
from srlab.metrics.quality import SRQuality, eval_plane, image_quality, psnr, scored_image, ssim

__all__ = ["LPIPS", "SRQuality", "build_lpips", "eval_plane", "image_quality", "psnr", "scored_image", "ssim"]
