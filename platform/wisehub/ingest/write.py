"""Writing Datasets to Zarr atomically: a half-written store is never left at the target."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import fsspec
import xarray as xr
from dask.diagnostics import ProgressBar
from zarr.errors import UnstableSpecificationWarning, ZarrUserWarning

from wisehub.ingest.headers import IngestError


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
    progress: bool = False,
    overwrite: bool = False,
) -> str:
    """Write ``ds`` to a Zarr store at ``url`` via a temporary sibling, then move it into place.

    If anything fails, the temporary store is removed and ``url`` is untouched.

    >>> import numpy as np, xarray as xr
    >>> url = write_zarr(xr.Dataset({"a": ("x", np.arange(3))}), "/tmp/wh-doc.zarr",
    ...                  overwrite=True)
    >>> int(xr.open_zarr(url).a.sum())
    3
    """
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    if fs.exists(path) and not overwrite:
        raise IngestError(f"{url} already exists; choose another store or pass overwrite")
    tmp_path = f"{path.rstrip('/')}.partial-{uuid.uuid4().hex[:8]}"
    local = "file" in fs.protocol
    tmp_url = tmp_path if local else fs.unstrip_protocol(tmp_path)
    try:
        fs.makedirs(tmp_path.rsplit("/", 1)[0], exist_ok=True)
    except OSError as err:
        raise IngestError(f"cannot create {url}: {err.strerror or err}") from None
    try:
        with quiet_zarr_v3_warnings(), ProgressBar() if progress else contextlib.nullcontext():
            ds.to_zarr(
                tmp_url,
                mode="w",
                consolidated=True,
                storage_options=None if local else storage_options,
            )
        if fs.exists(path):
            fs.rm(path, recursive=True)
        fs.mv(tmp_path, path, recursive=True)
    except BaseException:
        with contextlib.suppress(OSError):
            fs.rm(tmp_path, recursive=True)
        raise
    return url
