"""FITS → Zarr ingest: raw data arrives as FITS and is kept as chunked, lazily readable Zarr.

>>> from wisehub.samples import make_ccd_fits
>>> files = make_ccd_fits("/tmp/wh-doc-fits", size=48, nights=1, chips=1)
>>> ds = ingest_fits(files, "/tmp/wh-doc-raw.zarr", overwrite=True)
>>> ds.sizes["frame"] == len(files)
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import xarray as xr

from wisehub.ingest.cube import read_cube_fits
from wisehub.ingest.headers import IngestError, read_frame_header
from wisehub.ingest.stack import frame_wcs, open_fits_stack, reduction_chunks
from wisehub.ingest.write import quiet_zarr_v3_warnings, write_zarr


def ingest_fits(
    files: Sequence[str | os.PathLike],
    store: str,
    storage_options: dict[str, Any] | None = None,
    *,
    progress: bool = False,
    overwrite: bool = False,
) -> xr.Dataset:
    """Ingest FITS frames into one Zarr store and return it opened lazily from there.

    Every header is checked before any pixel is written; a failure leaves no store behind.
    """
    ds = open_fits_stack(files)
    write_zarr(ds, store, storage_options, progress=progress, overwrite=overwrite)
    return open_store(store, storage_options)


def open_store(store: str, storage_options: dict[str, Any] | None = None) -> xr.Dataset:
    """Open a Zarr store lazily (dask-backed, stored chunks), its per-frame coordinates loaded."""
    with quiet_zarr_v3_warnings():
        return load_coords(xr.open_zarr(store, storage_options=storage_options, chunks={}))


def load_coords(ds: xr.Dataset) -> xr.Dataset:
    """Load small 1-D coordinates (per-frame header keywords) so they work in selections.

    Pixels stay lazy; only the coordinates, a few bytes per frame, are read.
    """
    return ds.assign_coords(
        {k: ds[k].compute() for k in ds.coords if ds[k].chunks is not None and ds[k].ndim == 1}
    )


__all__ = [
    "IngestError",
    "frame_wcs",
    "ingest_fits",
    "load_coords",
    "open_fits_stack",
    "open_store",
    "read_cube_fits",
    "read_frame_header",
    "reduction_chunks",
    "write_zarr",
]
