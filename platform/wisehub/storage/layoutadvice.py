"""Say when a stored layout does not fit the work, and which layout would.

A combine reads every frame of each tile of the sky. A store chunked one frame per chunk
(what cameras and most ingests produce) makes every task read a piece of every frame's
chunk, and with compression each of those chunks is decoded whole, once per tile. The layout
that fits is tiled over space: many frames of a band of rows per chunk, uncompressed
(:func:`wisehub.ingest.stack.reduction_chunks`); on a local disk such chunks are then read
without a copy (:mod:`wisehub.storage.mmapread`).

>>> import numpy as np, xarray as xr, warnings
>>> stack = xr.DataArray(np.zeros((8, 64, 48), "f4"), dims=("frame", "y", "x"))
>>> stack.encoding = {"chunks": (1, 64, 48), "compressors": ("zstd",)}
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     advise_stack_layout(stack, "combine")
>>> message = str(caught[0].message)
>>> "one frame per chunk, compressed" in message, "chunks=(8, 64, 48)" in message
(True, True)
"""

from __future__ import annotations

import warnings
from functools import cache

import xarray as xr


class LayoutWarning(UserWarning):
    """The data's stored layout makes this work slow; the message says which layout fits."""


def advise_stack_layout(stack: xr.DataArray, what: str) -> None:
    """Warn (a :class:`LayoutWarning`, once per process and layout) if ``stack``, as opened
    from Zarr, is stored one frame per chunk; the message gives the chunks to store instead.
    """
    chunks = stack.encoding.get("chunks")
    if not chunks or stack.ndim != 3 or stack.shape[0] < 2 or chunks[0] != 1:
        return
    compressed = bool(stack.encoding.get("compressors") or stack.encoding.get("compressor"))
    _warn_once(what, tuple(stack.shape), stack.dtype.itemsize, compressed)


@cache
def _warn_once(what: str, shape: tuple[int, ...], itemsize: int, compressed: bool) -> None:
    from wisehub.ingest.stack import reduction_chunks

    how = "compressed, " if compressed else ""
    warnings.warn(
        f"{what}: the stack is stored one frame per chunk, {how}so every tile of the "
        f"{what} reads and decodes a piece of every frame. Store it tiled over space for "
        f"this work: chunks={reduction_chunks(*shape, itemsize)}, compressors=None (the "
        "encoding given to to_zarr); local stores in that layout are then read without "
        "copying.", LayoutWarning, stacklevel=4)
