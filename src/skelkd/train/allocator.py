"""Keeping freed CPU memory in the training process (Linux with glibc).

PyTorch allocates CPU tensors with the C library's ``malloc``. glibc serves a block
larger than its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and gives it back
to the kernel with ``munmap`` when the tensor is freed, and it trims freed memory at the
top of its heap. A training step that allocates the same large activations every step
then has every page of them zero-filled and faulted in again, every step: at the paper
configuration (``stgcn-paper``, T = 300, two persons, batch 16) about 2 million page
faults and 5 kernel CPU seconds per step on two cores (docs/cpu_allocator.md). Telling
glibc to serve large blocks from its heap and never to trim it keeps that memory in the
process, where the next step reuses it. ``benchmarks/cpu_allocator.py`` measures both
settings in fresh processes: step time, page faults and peak resident memory (which is
higher when memory is kept, since the heap holds the largest working set it has seen and
fragments).

The same effect is what ``LD_PRELOAD`` of jemalloc or tcmalloc, or
``GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...``, give when
set before the process starts; this does it from inside, at the start of training, with
``mallopt`` (man 3 mallopt). Elsewhere (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

# mallopt parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
# glibc's defaults, restored by keep_freed_memory(False)
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_MMAP_MAX = 65536


@functools.cache
def _glibc():
    """glibc's ``mallopt``, or None where the C library is not glibc."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def keep_freed_memory(enabled: bool = True) -> bool:
    """Keep memory freed by PyTorch in the process for reuse (``enabled``: no mmap for
    large blocks, no trimming; -1 disables trimming, man 3 mallopt), or restore glibc's
    defaults. Process-wide and for allocations made from now on. Returns whether glibc
    took the setting (False where the C library is not glibc)."""
    mallopt = _glibc()
    if mallopt is None:
        return False
    if enabled:
        return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, -1))
    return (bool(mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX))
            and bool(mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)))
