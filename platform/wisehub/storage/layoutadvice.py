"""Zarr layouts from what the data is for, and advice when a stored layout does not fit.

**Choosing.** :func:`choose_layout` gives the chunks and compressors for a purpose
(:data:`wisehub.settings_types.Purpose`); ingest writes with ``Settings.layouts.ingest``
(default ``reduce``) and publish with ``Settings.layouts.publish`` (default ``read``),
through :func:`wisehub.storage.zarrio.write_zarr` / ``write_staged`` (``purpose=``):

* ``reduce``: a combine reads every frame of each tile of the sky, so a 3-D stack is tiled
  over space, up to 64 frames of a band of rows per chunk of about ``chunk_size``
  (:func:`reduction_chunks`), uncompressed: on a local disk or CephFS
  the chunk files are then mapped, not copied (:mod:`wisehub.storage.mmapread`);
* ``read``: chunks of about ``chunk_size`` made of whole rows (one frame of a stack), zstd
  at ``read_zstd_level``: what a reader opening one image or a cut-out wants;
* ``archive``: as ``read``, with zstd at ``archive_zstd_level``.

An encoding the caller gave (``compressors``) is kept.

**Advising.** A store chunked one frame per chunk (what cameras and most ingests produce)
makes every combine task read a piece of every frame's chunk, and with compression each of
those chunks is decoded whole, once per tile; :func:`advise_stack_layout` says so once,
with the layout to use.

>>> import numpy as np, xarray as xr, warnings
>>> choose_layout("reduce", (64, 2048, 2048), "f4").chunks
(64, 32, 2048)
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

import math
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import xarray as xr

from wisehub.config import Settings, get_settings
from wisehub.settings_types import Purpose


class LayoutWarning(UserWarning):
    """The data's stored layout makes this work slow; the message says which layout fits."""


@dataclass(frozen=True)
class Layout:
    """Chunks and compressors of one Zarr array; :meth:`encoding` is what ``to_zarr`` takes."""

    chunks: tuple[int, ...]
    compressors: tuple[Any, ...] | None

    def encoding(self) -> dict[str, Any]:
        """The ``to_zarr`` encoding of this layout.

        >>> Layout((4, 4), None).encoding()
        {'chunks': (4, 4), 'compressors': None}
        """
        return {"chunks": self.chunks, "compressors": self.compressors}


def _rows_first(shape: tuple[int, ...], itemsize: int, target: int) -> tuple[int, ...]:
    """Chunks filled from the last axis outward up to ``target`` bytes: whole rows first."""
    chunks: list[int] = []
    room = max(1, target // itemsize)
    for extent in reversed(shape):
        size = max(1, min(extent, room))
        chunks.insert(0, size)
        room = max(1, room // size)
    return tuple(chunks)


def reduction_chunks(
    n_frames: int, ny: int, nx: int, itemsize: int, target_bytes: int | None = None
) -> tuple[int, int, int]:
    """Chunks for reductions over frames: tiles of whole rows holding many frames each.

    A combine reads all frames of one tile in one task, so chunks span many frames and a band of
    rows, sized near ``target_bytes`` (default: the ``chunk_size`` setting).

    >>> reduction_chunks(64, 2048, 2048, 4, 64 << 20)
    (64, 128, 2048)
    >>> reduction_chunks(10, 100, 100, 2)
    (10, 100, 100)
    """
    target_bytes = int(get_settings().chunk_size) if target_bytes is None else target_bytes
    frames = min(n_frames, 64)
    rows = max(1, min(ny, target_bytes // max(1, frames * nx * itemsize)))
    if rows < ny:
        rows = 2 ** int(math.log2(rows)) if rows >= 16 else rows
    return frames, rows, nx


def choose_layout(purpose: Purpose, shape: tuple[int, ...], dtype: Any, *,
                  settings: Settings | None = None) -> Layout:
    """The layout of an array of ``shape`` and ``dtype`` that is for ``purpose``.

    Parameters
    ----------
    purpose : {"reduce", "read", "archive"}
        What the data is for (see the module's description).
    shape, dtype
        The array's.
    settings
        Sizes (``chunk_size``) and levels (``layouts``); default: the platform's.

    Returns
    -------
    Layout

    Examples
    --------
    >>> choose_layout("read", (64, 2048, 2048), "f4").chunks
    (1, 2048, 2048)
    >>> choose_layout("reduce", (10, 100, 100), "u2").compressors is None
    True
    """
    from zarr.codecs import ZstdCodec

    settings = settings or get_settings()
    layouts = settings.layouts
    target = int(settings.chunk_size)
    itemsize = np.dtype(dtype).itemsize
    if purpose not in ("reduce", "read", "archive"):
        raise ValueError(f"unknown layout purpose {purpose!r}; choose reduce, read or archive")
    if purpose == "reduce" and len(shape) == 3 and shape[0] > 1:
        chunks = reduction_chunks(*shape, itemsize, target)
    else:
        chunks = _rows_first(tuple(shape), itemsize, target)
    level = {"read": layouts.read_zstd_level, "archive": layouts.archive_zstd_level,
             "reduce": layouts.read_zstd_level if layouts.reduce_compressed else None}[purpose]
    return Layout(tuple(chunks), None if level is None else (ZstdCodec(level=level),))


def apply_layout(ds: xr.Dataset, purpose: Purpose, settings: Settings | None = None
                 ) -> xr.Dataset:
    """``ds`` with every numeric data variable chunked (dask) and encoded for ``purpose``;
    a ``compressors`` encoding already set on a variable is kept.

    >>> import numpy as np, xarray as xr
    >>> ds = apply_layout(xr.Dataset({"a": (("f", "y", "x"), np.zeros((4, 8, 8), "f4"))}),
    ...                   "reduce")
    >>> ds["a"].encoding
    {'chunks': (4, 8, 8), 'compressors': None}
    """
    import dask.array as da

    out = ds.copy()
    for name, variable in out.data_vars.items():
        if variable.ndim == 0 or variable.dtype.kind not in "biuf":
            continue
        layout = choose_layout(purpose, variable.shape, variable.dtype, settings=settings)
        encoding = {k: v for k, v in variable.encoding.items() if k != "compressor"}
        chosen = layout.encoding()
        if "compressors" in encoding or "compressor" in variable.encoding:
            chosen.pop("compressors")
        if isinstance(variable.data, da.Array):
            variable = variable.chunk(dict(zip(variable.dims, layout.chunks, strict=True)))
        variable.encoding = {**encoding, **chosen}
        out[name] = variable
    return out


def advise_stack_layout(stack: xr.DataArray, what: str) -> None:
    """Warn (a :class:`LayoutWarning`, once per process and layout) if ``stack``, as opened
    from Zarr, is stored one frame per chunk; the message gives the chunks to store instead.
    """
    chunks = stack.encoding.get("chunks")
    if not chunks or stack.ndim != 3 or stack.shape[0] < 2 or chunks[0] != 1:
        return
    compressed = bool(stack.encoding.get("compressors") or stack.encoding.get("compressor"))
    _warn_once(what, tuple(stack.shape), stack.dtype.str, compressed)


@cache
def _warn_once(what: str, shape: tuple[int, ...], dtype: str, compressed: bool) -> None:
    how = "compressed, " if compressed else ""
    warnings.warn(
        f"{what}: the stack is stored one frame per chunk, {how}so every tile of the "
        f"{what} reads and decodes a piece of every frame. Store it tiled over space for "
        f"this work: chunks={choose_layout('reduce', shape, dtype).chunks}, "
        "compressors=None (the encoding given to to_zarr; ingest writes this layout by "
        "default, Settings.layouts.ingest); local stores in that layout are then read "
        "without copying.", LayoutWarning, stacklevel=4)
