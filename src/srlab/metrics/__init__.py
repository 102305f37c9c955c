"""Image-quality metrics with the SR paper protocol, as torchmetrics `Metric`s (exact under DDP)."""

from srlab.metrics.quality import SRQuality, eval_plane, psnr, ssim

__all__ = ["SRQuality", "eval_plane", "psnr", "ssim"]
