"""Memory for decoded chunks, reused while reads go on and let go soon after they stop.

A mean over a frame-chunked zstd stack decodes every frame into memory of its own. Fresh
memory costs more than the arithmetic: each new 16 MiB buffer is faulted in and zeroed by
the kernel, and its pages are mapped again for every frame. Memory reused with small pages
spares the faults, but then the decoder and the sums miss the TLB.

A :class:`BufferPool` hands out arrays over anonymous mappings advised to use huge pages.
When an array and every view of it are gone, its mapping goes back to the pool, and the next
array of that size reuses it. So a read holds no more memory than it did before, and mappings
nobody takes for ``idle_seconds`` are let go.

>>> pool = BufferPool(idle_seconds=1.0)
>>> frame = pool.array((1024, 1024), "f4")  # 4 MiB
>>> address = frame.ctypes.data
>>> del frame  # no view left: its memory goes back to the pool
>>> pool.array((1024, 1024), "f4").ctypes.data == address
True
"""

from __future__ import annotations

import math
import mmap
import os
import threading
import time
import weakref

import numpy as np
from numpy.typing import DTypeLike

SMALLEST_POOLED = 1 << 20
"""Bytes below which arrays come from numpy: the pool's bookkeeping would cost more than
their page faults."""


class BufferPool:
    """Arrays whose memory is reused once they, and every view of them, are gone.

    Parameters
    ----------
    idle_seconds : float
        Memory given back and not taken again within this time is released.
    smallest : int
        Arrays of fewer bytes are plain numpy arrays, not pooled.

    Examples
    --------
    >>> pool = BufferPool()
    >>> tile = pool.array((512, 1024), "f8")
    >>> band = tile[:16]  # a view keeps the memory lent out
    >>> del tile
    >>> pool.held_bytes  # nothing has come back yet
    0
    >>> del band
    >>> pool.held_bytes
    4194304
    """

    def __init__(self, idle_seconds: float = 5.0, smallest: int = SMALLEST_POOLED) -> None:
        self.idle_seconds = idle_seconds
        self.smallest = smallest
        self._reset()
        alive = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (pool := alive()) and pool._reset())

    def _reset(self) -> None:
        """Start empty, with a new lock (a forked child may inherit the lock taken)."""
        self._lock = threading.Lock()
        self._free: dict[int, list[mmap.mmap]] = {}
        self._last_use = 0.0
        self._timer: threading.Timer | None = None

    @property
    def held_bytes(self) -> int:
        """Bytes given back and waiting to be reused."""
        with self._lock:
            return sum(len(m) for free in self._free.values() for m in free)

    def array(self, shape: tuple[int, ...] | list[int], dtype: DTypeLike) -> np.ndarray:
        """A new, uninitialised C-ordered array of ``shape`` and ``dtype``, in memory given
        back by an earlier array of the same size if there is one.

        >>> BufferPool().array((2, 3), "f4").shape  # small: a plain numpy array
        (2, 3)
        """
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.smallest:
            return np.empty(shape, dtype)
        with self._lock:
            free = self._free.get(nbytes)
            memory = free.pop() if free else None
            self._last_use = time.monotonic()
        if memory is None:
            memory = mmap.mmap(-1, nbytes)
            if hasattr(mmap, "MADV_HUGEPAGE"):  # Linux
                memory.madvise(mmap.MADV_HUGEPAGE)
        array = np.ndarray(shape, dtype, buffer=memory)  # views of it have it as their base
        weakref.finalize(array, self._give_back, memory).atexit = False  # none at shutdown
        return array

    def _give_back(self, memory: mmap.mmap) -> None:
        with self._lock:
            self._free.setdefault(len(memory), []).append(memory)
            self._last_use = time.monotonic()
            if self._timer is None:
                self._start_timer(self.idle_seconds)

    def _start_timer(self, seconds: float) -> None:
        """Check for idle memory after ``seconds`` (called holding the lock)."""
        self._timer = threading.Timer(seconds, self._release_idle)
        self._timer.daemon = True
        self._timer.start()

    def _release_idle(self) -> None:
        """Let go of the memory held, unless the pool was used since; then check again."""
        with self._lock:
            wait = self._last_use + self.idle_seconds - time.monotonic()
            if wait > 0:
                self._start_timer(wait)
                return
            released, self._free, self._timer = self._free, {}, None
        released.clear()  # unmapped here, not while holding the lock
