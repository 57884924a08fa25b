"""Ingest FITS frames into one Zarr store: check every header, write, and replace safely.

>>> import tempfile
>>> from wisehub.samples import make_ccd_fits
>>> where = tempfile.mkdtemp()
>>> files = make_ccd_fits(where + "/fits", size=48, nights=1, chips=1)
>>> ds = ingest_fits(files, where + "/raw.zarr")
>>> ds.sizes["frame"] == len(files), ds["data"].wise.frame_wcs(0).has_celestial
(True, True)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from typing import Any

import xarray as xr

import wisehub.conventions  # noqa: F401  (the .wise accessor)
from wisehub.config import get_settings
from wisehub.ingest.headers import IngestError
from wisehub.ingest.stack import open_fits_stack
from wisehub.storage import StorageError
from wisehub.storage.s3 import storage_at
from wisehub.storage.zarrio import StoreExistsError, open_zarr, write_staged, write_zarr


def ingest_fits(
    files: Sequence[str | os.PathLike],
    store: str,
    storage_options: dict[str, Any] | None = None,
    *,
    progress: bool = False,
    overwrite: bool = False,
) -> xr.Dataset:
    """Ingest FITS frames into one Zarr store and return it opened lazily from there.

    Every header is checked (and every file checksummed) before any pixel is written; a
    failure leaves no store behind. With ``overwrite``, an existing store is kept until
    the new one is complete (:func:`write_ingested`).
    """
    write_ingested(open_fits_stack(files), store, storage_options, progress=progress,
                   overwrite=overwrite)
    return open_zarr(store, storage_options, small_coords=True)


def write_ingested(ds: xr.Dataset, store: str, storage_options: dict[str, Any] | None = None,
                   *, progress: bool = False, overwrite: bool = False) -> None:
    """Write an opened FITS stack (:func:`open_fits_stack`) to the Zarr store ``store``.

    Replacing an existing store (``overwrite``) writes the new one completely beside it
    and swaps it in at the commit (:meth:`~wisehub.storage.store.Storage.swap`): a failed
    ingest leaves the old store as it was.

    >>> import tempfile
    >>> from wisehub.samples import make_ccd_fits
    >>> where = tempfile.mkdtemp()
    >>> files = make_ccd_fits(where + "/fits", size=48, nights=1, chips=1)
    >>> write_ingested(open_fits_stack(files[:2]), where + "/raw.zarr")
    >>> write_ingested(open_fits_stack(files[2:5]), where + "/raw.zarr", overwrite=True)
    >>> open_zarr(where + "/raw.zarr").sizes["frame"]
    3
    """
    try:
        purpose = get_settings().layouts.ingest
        storage, key = storage_at(store, storage_options)
        if not (overwrite and storage.exists(key)):
            write_zarr(ds, store, storage_options, progress=progress, purpose=purpose)
            return
        new_key = f"{key}.ingesting-{uuid.uuid4().hex[:8]}"
        write_staged(storage, new_key, ds, progress=progress, purpose=purpose)
        storage.swap(new_key, key)
    except (StoreExistsError, StorageError, OSError) as err:
        raise IngestError(f"cannot write {store}: {err}") from err
