"""Zarr I/O, the one way wisehub reads and writes Zarr: open, write, key scheme, chunk size.

**Reading.** An S3 GET spends most of its time waiting, so throughput comes from having many
at once. Zarr issues one request per stored chunk, concurrently *within* one read call; dask
issues one call per task, as many at a time as it has threads (one per core by default). So
dask tasks cover several small stored chunks (:func:`read_chunks`, whole stored chunks up to
:func:`task_bytes` per task). On the benchmark's RGW, 1 MiB chunks read 1.5x faster grouped
to 16 MiB, while tasks of 64 or 128 MiB read slower than 16 MiB ones: they only add memory
per task. Catalogue entries, products and ingested stores all open through :func:`open_zarr`.

**Writing.** :func:`write_staged` is the one writer: the data go to a staging key, are
committed with consolidated metadata and a checksum (:meth:`wisehub.storage.Storage.staged`),
and only then handed back; :func:`write_zarr` does the same for any path or ``s3://`` URL.
Products are keyed by :func:`product_key`.

**Chunk size.** One setting, ``Settings.chunk_size`` (``WISEHUB_CHUNK_SIZE``), sizes every
dask task over pixels: read grouping here, ingest's stored chunks and reduction tiles.

>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset({"data": (("frame", "y", "x"), np.zeros((32, 512, 512), "f4"))})
>>> ds["data"].encoding["chunks"] = (1, 256, 256)
>>> read_chunks(ds, 16 << 20)  # 256 KiB chunks: all 32 frames, then two tiles in y = 16 MiB
{'frame': 32, 'y': 512}
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import xarray as xr

from wisehub.config import get_settings
from wisehub.settings_types import Purpose
from wisehub.storage.layoutadvice import apply_layout
from wisehub.storage.mmapread import is_local, read_in_place
from wisehub.storage.objectread import is_s3, read_chunk_objects
from wisehub.storage.s3 import storage_at
from wisehub.storage.store import Storage, StoredObject
from wisehub.storage.zarrwarnings import quiet_zarr_v3_warnings


class StoreExistsError(FileExistsError):
    """The target Zarr store already holds data; stores are not overwritten unless asked."""


def task_bytes() -> int:
    """Bytes of pixels per dask task, from ``Settings.chunk_size`` (``WISEHUB_CHUNK_SIZE``).

    >>> task_bytes() >= 1 << 20
    True
    """
    return int(get_settings().chunk_size)


def _grouped(shape: tuple[int, ...], stored: tuple[int, ...], itemsize: int,
             target_bytes: int) -> tuple[int, ...]:
    """Whole multiples of ``stored``, outermost dimension first, up to ``target_bytes``."""
    grouped = list(stored)
    for axis, extent in enumerate(shape):
        factor = max(1, target_bytes // (math.prod(grouped) * itemsize))
        grouped[axis] = min(extent, grouped[axis] * factor)
    return tuple(grouped)


def read_chunks(ds: xr.Dataset, target_bytes: int | None = None) -> dict[str, int]:
    """Dask chunks for reading ``ds`` (as opened from Zarr): whole stored chunks of every
    variable per task, about ``target_bytes`` (default :func:`task_bytes`) each. Only
    dimensions that change are named; a dimension keeps its stored chunks where grouping would
    split another variable's.

    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"a": (("t", "x"), np.zeros((100, 10)))})
    >>> ds["a"].encoding["chunks"] = (10, 10)
    >>> read_chunks(ds)
    {'t': 100}
    """
    target = task_bytes() if target_bytes is None else target_bytes
    stored = {name: tuple(v.encoding["chunks"]) for name, v in ds.variables.items()
              if name not in ds.indexes and len(v.encoding.get("chunks") or ()) == v.ndim}
    grouped: dict[str, list[int]] = {}  # per dim: each variable's grouped size
    for name, chunks in stored.items():
        variable = ds[name].variable
        sizes = _grouped(variable.shape, chunks, variable.dtype.itemsize, target)
        for dim, size in zip(variable.dims, sizes, strict=True):
            grouped.setdefault(str(dim), []).append(size)
    chosen = {}
    for dim, sizes in grouped.items():
        size = min(sizes)  # no variable's tasks grow past the target
        bases = [chunks[ds[name].dims.index(dim)] for name, chunks in stored.items()
                 if dim in ds[name].dims]
        if any(size != base for base in bases) and all(
                size % base == 0 or size >= ds.sizes[dim] for base in bases):
            chosen[dim] = size
    return chosen


def load_coords(ds: xr.Dataset) -> xr.Dataset:
    """Load small 1-D coordinates (per-frame header keywords) so they work in selections.

    Pixels stay lazy; only the coordinates, a few bytes per frame, are read.

    >>> import dask.array as da, xarray as xr
    >>> ds = xr.Dataset(coords={"t": ("t", da.arange(3, chunks=1))})
    >>> load_coords(ds)["t"].chunks is None
    True
    """
    return ds.assign_coords(
        {k: ds[k].compute() for k in ds.coords if ds[k].chunks is not None and ds[k].ndim == 1}
    )


def root_group(url: str, storage_options: Mapping[str, Any] | None = None) -> Any:
    """The root group of the Zarr store at ``url``, opened read-only: one read of its
    (consolidated) metadata, which every later step of an open reuses.

    >>> import numpy as np, tempfile, xarray as xr
    >>> url = tempfile.mkdtemp() + "/root.zarr"
    >>> _ = xr.Dataset({"a": ("x", np.arange(6))}).to_zarr(url)
    >>> root_group(url)["a"].shape
    (6,)
    """
    import zarr

    where = url.removeprefix("file://") if is_local(url) else url
    with quiet_zarr_v3_warnings():
        return zarr.open_group(where, mode="r", storage_options=dict(storage_options or {})
                               or None)


def _dataset(url: str, group: Any, chunks: Mapping[str, int] | None) -> xr.Dataset:
    """``group`` (the root of the store at ``url``) as a Dataset, without reading metadata
    again; ``chunks=None``: lazy but without dask."""
    from xarray.backends import ZarrStore

    with quiet_zarr_v3_warnings():
        return xr.open_dataset(url, engine="zarr", chunks=chunks,
                               store=ZarrStore(group, mode="r"))


def stored_layout(url: str, storage_options: Mapping[str, Any] | None = None, *,
                  group: Any = None) -> xr.Dataset:
    """A Zarr store's variables as stored, without dask: their ``encoding`` gives the stored
    chunks (what :func:`read_chunks` groups). Reads metadata only, and none if its
    :func:`root_group` is given.

    >>> import numpy as np, tempfile, xarray as xr
    >>> url = tempfile.mkdtemp() + "/layout.zarr"
    >>> _ = xr.Dataset({"a": ("x", np.arange(6))}).to_zarr(url, encoding={"a": {"chunks": (2,)}})
    >>> stored_layout(url)["a"].encoding["chunks"]
    (2,)
    """
    return _dataset(url, root_group(url, storage_options) if group is None else group, None)


def open_zarr(url: str, storage_options: Mapping[str, Any] | None = None, *,
              small_coords: bool = False) -> xr.Dataset:
    """A Zarr store as a lazy, dask-backed Dataset chunked by :func:`read_chunks`.

    The store's metadata are read once (:func:`root_group`). ``small_coords=True`` also
    loads the 1-D coordinates (:func:`load_coords`), as selecting frames by header keyword
    needs.

    >>> import numpy as np, tempfile, xarray as xr
    >>> url = tempfile.mkdtemp() + "/io.zarr"
    >>> _ = xr.Dataset({"a": ("x", np.arange(3))}).to_zarr(url)
    >>> int(open_zarr(url).a.sum())
    3
    """
    options = dict(storage_options or {}) or None
    group = root_group(url, options)
    ds = _dataset(url, group, read_chunks(stored_layout(url, group=group)))
    if is_local(url):
        ds = read_in_place(ds, url, task_bytes(), group=group)  # local chunks: no zarr copies
    elif is_s3(url):
        with quiet_zarr_v3_warnings():  # raw S3 chunks: no zarr copies either
            ds = read_chunk_objects(ds, url, options, task_bytes(), group=group)
    return load_coords(ds) if small_coords else ds


def product_key(prefix: str, name: str, kind: str | None = None) -> str:
    """The storage key of a new product: ``<prefix>[/<kind>]/<name>-<UTC time>-<id>.zarr``.

    Unique per call, so a product is never written over another.

    >>> product_key("private/ada", "bias", "MasterBias").startswith("private/ada/MasterBias/bias-")
    True
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    parts = [prefix, *([kind] if kind else []), f"{name}-{stamp}-{uuid.uuid4().hex[:8]}.zarr"]
    return "/".join(parts)


def _for_writing(ds: xr.Dataset | xr.DataArray) -> xr.Dataset:
    """A Dataset (a DataArray as its ``data`` variable) whose chunking is its own: chunk
    encodings left from the store it was read from must not bind the new one."""
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "data")
    ds = ds.copy()
    for variable in ds.variables.values():
        variable.encoding = {k: v for k, v in variable.encoding.items()
                             if k not in ("chunks", "preferred_chunks", "shards")}
    return ds


def write_staged(storage: Storage, key: str, ds: xr.Dataset | xr.DataArray, *,
                 progress: bool | str = False, purpose: Purpose | None = None) -> StoredObject:
    """Write ``ds`` as consolidated Zarr at ``key`` of ``storage`` through staging; return
    what was committed. A DataArray is written as the store's ``data`` variable (or its
    name). If anything fails, nothing is left at ``key``. ``progress`` shows a bar (a string
    names it). ``purpose`` lays the data out for what it is for
    (:func:`wisehub.storage.layoutadvice.apply_layout`); without it, the data's own chunks.

    >>> import numpy as np, tempfile, xarray as xr
    >>> storage = Storage.local(tempfile.mkdtemp())
    >>> stored = write_staged(storage, "world/a.zarr", xr.DataArray(np.arange(3.0), dims="x"))
    >>> float(open_zarr(stored.uri)["data"].sum())
    3.0
    """
    from wisehub.compute.progress import compute

    dataset = _for_writing(ds)
    if purpose is not None:
        dataset = apply_layout(dataset, purpose)
    with storage.staged(key) as staged, quiet_zarr_v3_warnings():
        if progress:
            delayed = staged.to_zarr(dataset, compute=False)
            compute(delayed, progress if isinstance(progress, str) else "writing")
        else:
            staged.to_zarr(dataset)
    assert staged.result is not None  # set by a completed staged write
    return staged.result


def write_zarr(ds: xr.Dataset | xr.DataArray, url: str,
               storage_options: dict[str, Any] | None = None, *,
               progress: bool | str = False, overwrite: bool = False,
               purpose: Purpose | None = None) -> str:
    """Write ``ds`` to a Zarr store at ``url`` (a path or ``s3://`` URL) through staging.

    As :func:`write_staged` (``purpose`` too); an existing store is an error
    (:class:`StoreExistsError`) unless ``overwrite`` is given.

    >>> import numpy as np, tempfile, xarray as xr
    >>> url = write_zarr(xr.Dataset({"a": ("x", np.arange(3))}), tempfile.mkdtemp() + "/a.zarr")
    >>> int(open_zarr(url).a.sum())
    3
    """
    storage, key = storage_at(url, storage_options)
    if storage.exists(key):
        if not overwrite:
            raise StoreExistsError(f"{url} already exists; choose another name or overwrite")
        storage.delete(key)
    write_staged(storage, key, ds, progress=progress, purpose=purpose)
    return url
