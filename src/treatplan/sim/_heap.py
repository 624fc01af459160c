"""Handing freed heap memory back to the operating system during long runs.

A run's parent process receives every chunk's table text (strings of 100-200 KB
from each worker, or made in-process) and frees it once written. glibc's
allocator keeps such freed space inside its heaps, where chunks of varying sizes
fragment it, so the process's resident set crept up with the number of clients
although nothing live grew: a run of the tenfold default service peaked at
34.5 MB for 20,000 clients and 36.5 MB for 200,000 (35 MB and 42 MB from 100,000
to 1,000,000). With ``malloc_trim(0)`` every few chunks the same runs peaked at
34.2 and 34.0 MB. Dask's workers call it for the same reason. It costs
microseconds; on other C libraries (macOS, Windows, musl) there is nothing to call
and nothing is done.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

__all__ = ["MALLOC_TRIM", "TRIM_EVERY", "HeapTrimmer", "find_malloc_trim"]

#: Chunks collected between two trims (2,500 clients at the default chunk size).
TRIM_EVERY = 10


def find_malloc_trim() -> Callable[[int], object] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], object] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # musl, or no libc.so.6 by that name
        return None
    return trim


class HeapTrimmer:
    """Calls ``trim(0)`` on every ``every``-th :meth:`tick` (never without ``trim``)."""

    __slots__ = ("_count", "_every", "_trim")

    def __init__(
        self, every: int = TRIM_EVERY, trim: Callable[[int], object] | None = None
    ) -> None:
        self._every = every
        self._trim = trim
        self._count = 0

    def tick(self) -> None:
        """Count one collected chunk; trim the heap when it is the ``every``-th."""
        if self._trim is None:
            return
        self._count += 1
        if self._count % self._every == 0:
            self._trim(0)


#: This process's ``malloc_trim`` (looked up once).
MALLOC_TRIM = find_malloc_trim()
