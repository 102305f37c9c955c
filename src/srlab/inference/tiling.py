"""Tiled inference: super-resolve an image of any size piece by piece, in bounded memory."""

from collections.abc import Callable, Iterator

import torch
from torch import Tensor


def tile_count(height: int, width: int, tile: int | None) -> int:
    """How many tiles `upscale_bands` runs on an LR image of `height` x `width`."""
    if tile is None:
        return 1
    return -(-height // tile) * -(-width // tile)


def upscale_bands(
    fn: Callable[[Tensor], Tensor],
    lr: Tensor,
    scale: int,
    tile: int | None = None,
    overlap: int = 0,
    progress: Callable[[], None] | None = None,
) -> Iterator[Tensor]:
    """`fn(lr)` computed on tiles of `tile` x `tile` LR pixels, yielded one row of tiles at a time.

    `fn` maps (B, C, h, w) to (B, C', scale * h, scale * w), in any dtype (e.g. the uint8 levels of
    a file). Each tile is cut out of `lr` with up to `overlap` extra pixels on every side (fewer at
    the image's edges, where `fn` sees the image's own border), and only the SR of the tile itself is
    kept. The bands, (B, C', scale * rows, scale * w) in `fn`'s dtype on `lr`'s device, follow each
    other from the top; together they are `fn(lr)` up to float rounding when `overlap` covers the
    receptive field of `fn`. Memory is that of one tile and one band, whatever the image's height.

    Args:
        fn: the upscaler, e.g. an `RGBUpscaler`.
        lr: (B, C, h, w) LR image.
        scale: the upscaling factor of `fn`.
        tile: tile size in LR pixels; `None` runs `fn` on the whole image.
        overlap: LR pixels of context on each side of a tile.
        progress: called after each tile.
    """
    if tile is not None and tile < 1:
        raise ValueError(f"tile must be a positive number of LR pixels or None, got {tile}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0 LR pixels, got {overlap}")
    h, w = lr.shape[-2:]
    tile = tile or max(h, w)
    for top in range(0, h, tile):
        bottom = min(top + tile, h)
        band: Tensor | None = None
        for left in range(0, w, tile):
            right = min(left + tile, w)
            # The tile with its context, clipped to the image.
            top_c, left_c = max(top - overlap, 0), max(left - overlap, 0)
            bottom_c, right_c = min(bottom + overlap, h), min(right + overlap, w)
            sr = fn(lr[..., top_c:bottom_c, left_c:right_c])
            expected = (scale * (bottom_c - top_c), scale * (right_c - left_c))
            if tuple(sr.shape[-2:]) != expected:
                raise ValueError(
                    f"tiled inference: fn turned a {bottom_c - top_c}x{right_c - left_c} tile into "
                    f"{sr.shape[-2]}x{sr.shape[-1]}, not {expected[0]}x{expected[1]} (scale {scale})"
                )
            if band is None:
                shape = (*sr.shape[:-2], scale * (bottom - top), scale * w)
                band = torch.empty(shape, dtype=sr.dtype, device=lr.device)
            dy, dx = scale * (top - top_c), scale * (left - left_c)
            band[..., scale * left : scale * right] = sr[
                ..., dy : dy + scale * (bottom - top), dx : dx + scale * (right - left)
            ]
            if progress is not None:
                progress()
        assert band is not None  # a row of the image has at least one pixel, hence one tile
        yield band

