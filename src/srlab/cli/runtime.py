"""Process settings that `eval.py` and `upscale.py` make before they work: CPU threads and memory reuse."""

import ctypes
import ctypes.util
import logging
import sys

import torch

log = logging.getLogger(__name__)
# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 2**20  # the largest glibc accepts on 64-bit systems
TRIM_THRESHOLD = 2**30


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system at once.

    Evaluation and tiled upscaling allocate and free tensors of the same sizes image after image; by
    default glibc maps each large block afresh, and the kernel's page faults on every new block cost more
    system time than the arithmetic (measured: 3.1 M page faults for 14 HR megapixels). Memory up to
    `TRIM_THRESHOLD` freed at the top of the heap stays with the process. False where this is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def set_threads(threads: object) -> None:
    """`threads=<n>`: PyTorch's CPU threads; null keeps PyTorch's default (one per core)."""
    if threads is None:
        return
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads={threads}: expected a positive number of CPU threads, or null for one per core")
    torch.set_num_threads(threads)
    log.info("CPU threads: %d", threads)
