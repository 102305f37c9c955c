"""Writing files whole or not at all, and PNG images band by band, without the whole image in memory.

`png_writer` encodes the rows it is given and forgets them, so an upscaled image of any size is
written in the memory of one band of rows. PNG is encoded here (zlib, the Paeth filter on every row)
because OpenCV and Pillow only encode an image they hold whole. `background_writer` runs such writes
in a thread, so the next band is computed while the last is compressed and written.
"""

import queue
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

T = TypeVar("T")

# PNG colour types by channels: grey, grey + alpha, RGB, RGBA.
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
_PAETH = 4
_ROWS_PER_CHUNK = 64  # scanlines filtered at once: a few int16 copies of them are alive


@contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` (`<name>.partial`) that replaces `path` only if the block succeeds."""
    tmp = path.with_name(path.name + ".partial")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def background_writer(write: Callable[[T], None], name: Path, depth: int = 2) -> Iterator[Callable[[T], None]]:
    """A function that hands its argument to `write`, which a thread calls on them in order.

    At most `depth` items wait for the thread, so memory stays that of `depth` + 2 items (one being
    written, one being made); an item must not change after it is handed over. The block ends once all
    items are written. An error of `write` is raised in the block, at its next item or at its end,
    naming `name` (the file written); an error in the block stops the thread, leaving the items still
    waiting unwritten.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    failures: list[BaseException] = []
    stopped = threading.Event()
    done = object()

    def work() -> None:
        while (item := items.get()) is not done:
            if failures or stopped.is_set():
                continue  # drained unwritten, so that the block never waits on a full queue
            try:
                write(item)
            except BaseException as err:  # raised in the block instead
                failures.append(err)

    def raise_failure() -> None:
        err = failures[0]
        if str(name) in str(err):
            raise err
        raise OSError(f"{name}: writing failed: {type(err).__name__}: {err}") from err

    def put(item: T) -> None:
        if failures:
            raise_failure()
        items.put(item)

    thread = threading.Thread(target=work, name=f"writer of {Path(name).name}", daemon=True)
    thread.start()
    try:
        yield put
    except BaseException:
        stopped.set()
        raise
    finally:
        items.put(done)
        thread.join()
    if failures:
        raise_failure()


@contextmanager
def png_writer(path: Path, height: int, width: int, channels: int, bits: int) -> Iterator["PNGEncoder"]:
    """A `PNGEncoder` to `path`: the file appears once all `height` rows are written, else not at all.

    An error in the block, or rows missing at its end, leaves an older file at `path` as it was.
    """
    path = Path(path)
    with staged(path) as tmp:
        with open(tmp, "wb") as file:
            png = PNGEncoder(file, path, height, width, channels, bits)
            yield png
            png.finish()


class PNGEncoder:
    """Encode a `height` x `width` PNG into `file` from bands of rows, top to bottom.

    Rows are (n, width, channels) uint8 or uint16 arrays: grey, grey + alpha, RGB or RGBA. `name`
    (the file's path) is for error messages.
    """

    def __init__(self, file: BinaryIO, name: Path, height: int, width: int, channels: int, bits: int) -> None:
        if channels not in _COLOUR_TYPE or bits not in (8, 16):
            raise ValueError(f"{name}: cannot write {channels} channels at {bits} bits as PNG")
        self.file, self.name = file, name
        self.height, self.width, self.channels, self.bits = height, width, channels, bits
        self.rows_written = 0
        self._zlib = zlib.compressobj(1)  # the speed setting, as OpenCV writes PNG
        self._above = np.zeros(width * channels * bits // 8, np.uint8)  # the scanline before the image is 0
        file.write(b"\x89PNG\r\n\x1a\n")
        self._chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, _COLOUR_TYPE[channels], 0, 0, 0))

    def write(self, rows: np.ndarray) -> None:
        """Append (n, width, channels) rows in the PNG's bit depth."""
        dtype = np.dtype(np.uint8 if self.bits == 8 else np.uint16)
        if rows.ndim != 3 or rows.shape[1:] != (self.width, self.channels) or rows.dtype != dtype:
            raise ValueError(
                f"{self.name}: rows of {tuple(rows.shape)} {rows.dtype} for a PNG of (n, {self.width}, "
                f"{self.channels}) {dtype}"
            )
        if self.rows_written + len(rows) > self.height:
            raise ValueError(f"{self.name}: more rows than the image's {self.height}")
        # A scanline is a row's bytes; PNG stores 16-bit samples big-endian.
        raw = np.ascontiguousarray(rows, dtype=">u2" if self.bits == 16 else np.uint8).view(np.uint8)
        raw = raw.reshape(len(rows), -1)
        for start in range(0, len(raw), _ROWS_PER_CHUNK):
            chunk = raw[start : start + _ROWS_PER_CHUNK]
            lines = np.empty((len(chunk), 1 + chunk.shape[1]), np.uint8)
            lines[:, 0] = _PAETH
            lines[:, 1:] = paeth_filter(chunk, self._above, self.channels * self.bits // 8)
            self._above = chunk[-1].copy()
            self._chunk(b"IDAT", self._zlib.compress(lines))
        self.rows_written += len(rows)

    def finish(self) -> None:
        """End the file; an error if rows are missing."""
        if self.rows_written != self.height:
            raise ValueError(f"{self.name}: {self.rows_written} of the image's {self.height} rows were written")
        self._chunk(b"IDAT", self._zlib.flush())
        self._chunk(b"IEND", b"")

    def _chunk(self, kind: bytes, data: bytes) -> None:
        if kind == b"IDAT" and not data:  # zlib holds small inputs back
            return
        self.file.write(struct.pack(">I", len(data)) + kind)
        self.file.write(data)
        self.file.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def paeth_filter(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """PNG's Paeth filter of the scanlines `rows` (n, bytes) uint8; `above` is the scanline before them.

    Each byte minus whichever of its left, upper and upper-left neighbours is closest to
    left + upper - upper-left (neighbours outside the image are 0); `bpp` is the bytes per pixel.
    """
    x = rows.astype(np.int16)
    up = np.concatenate([above[None], rows[:-1]]).astype(np.int16)
    left, up_left = np.zeros_like(x), np.zeros_like(x)
    left[:, bpp:], up_left[:, bpp:] = x[:, :-bpp], up[:, :-bpp]
    pa, pb, pc = np.abs(up - up_left), np.abs(left - up_left), np.abs(left + up - 2 * up_left)
    predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    return (x - predictor).astype(np.uint8)
