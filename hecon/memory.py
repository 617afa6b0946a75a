"""Allocator settings for batch runs.

A PSA chunk allocates and frees hundreds of arrays of a few MiB. glibc returns such blocks to the
system when they are freed (mmap, or trimming the top of the heap), so the next array of the same
size is faulted in page by page again: measured on the default model, 0.3 s of system time per
1,000 draws, and more with two threads, which contend for the process's page tables. Raising
glibc's mmap and trim thresholds keeps freed memory for reuse (Linux ``mallopt(3)``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 2**20  # blocks up to this size come from the heap
TRIM_THRESHOLD = 512 * 2**20  # free memory kept at the top of the heap


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (once per process); False where the C library
    has no ``mallopt`` (not glibc), which changes nothing but speed."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
