"""Inference with trained networks: the RGB upscaler, tiling, self-ensemble, image files, streamed PNG, export.

Pure PyTorch (and `srlab.data.images` and OpenCV for files); `srlab.cli.upscale` drives it from Hydra configs.
"""

from srlab.data.images import list_images
from srlab.inference.ensemble import self_ensemble
from srlab.inference.export import OnnxRuntimeNet, export_metadata, export_onnx, export_torchscript
from srlab.inference.io import DecodedImage, read_image, to_levels, write_image
from srlab.inference.tiling import tile_count, upscale_bands
from srlab.inference.upscaler import RGBUpscaler
from srlab.inference.writer import background_writer, png_writer, staged

__all__ = [
    "DecodedImage",
    "OnnxRuntimeNet",
    "RGBUpscaler",
    "background_writer",
    "export_metadata",
    "export_onnx",
    "export_torchscript",
    "list_images",
    "png_writer",
    "read_image",
    "self_ensemble",
    "staged",
    "tile_count",
    "to_levels",
    "upscale_bands",
    "write_image",
]
