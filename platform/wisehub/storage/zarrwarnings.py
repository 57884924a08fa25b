"""Zarr 3's warnings about parts of the v3 format that are not yet in its specification."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from zarr.errors import UnstableSpecificationWarning, ZarrUserWarning


@contextlib.contextmanager
def quiet_zarr_v3_warnings() -> Iterator[None]:
    """Zarr 3 warns that string dtypes and consolidated metadata are not yet in the v3 spec.

    xarray, intake and zarr-python read both; the warnings would only alarm users.

    >>> with quiet_zarr_v3_warnings():
    ...     pass
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UnstableSpecificationWarning)
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=ZarrUserWarning)
        yield
