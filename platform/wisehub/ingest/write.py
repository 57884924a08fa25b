"""Writing Datasets to Zarr atomically: a half-written store is never left at the target."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import xarray as xr
from zarr.errors import UnstableSpecificationWarning, ZarrUserWarning

from wisehub.ingest.headers import IngestError, StoreExistsError


@contextlib.contextmanager
def quiet_zarr_v3_warnings() -> Iterator[None]:
    """Zarr 3 warns that string dtypes and consolidated metadata are not yet in the v3 spec.

    xarray, intake and zarr-python read both; the warnings would only alarm users.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UnstableSpecificationWarning)
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=ZarrUserWarning)
        yield


def write_zarr(
    ds: xr.Dataset,
    url: str,
    storage_options: dict[str, Any] | None = None,
    progress: bool | str = False,
    overwrite: bool = False,
) -> str:
    """Write ``ds`` to a Zarr store at ``url`` (a path or ``s3://`` URL) through staging.

    The data go to a staging area first and are moved into place only when complete
    (:meth:`wisehub.storage.Storage.staged`); if anything fails, ``url`` is untouched.
    ``progress`` shows a progress bar (a string names it).

    >>> import numpy as np, xarray as xr
    >>> url = write_zarr(xr.Dataset({"a": ("x", np.arange(3))}), "/tmp/wh-doc.zarr",
    ...                  overwrite=True)
    >>> int(xr.open_zarr(url).a.sum())
    3
    """
    from wisehub.compute.progress import compute
    from wisehub.storage import StorageError, storage_at

    store, key = storage_at(url, storage_options)
    if store.exists(key) and not overwrite:
        raise StoreExistsError(f"{url} already exists; choose another name or overwrite")
    try:
        if overwrite:
            store.delete(key)
        with store.staged(key) as staged, quiet_zarr_v3_warnings():
            delayed = staged.to_zarr(ds, compute=False)
            compute(delayed, progress if isinstance(progress, str) else "writing",
                    show=bool(progress))
    except (StorageError, OSError) as err:
        raise IngestError(f"cannot write {url}: {err}") from err
    return url
