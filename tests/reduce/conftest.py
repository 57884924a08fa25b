"""Reduction fixtures. Reductions run on Dask's threaded scheduler here; the cluster has its
own tests in tests/compute."""

from __future__ import annotations

import dask
import pytest
import xarray as xr
from reduce_inputs import make_stack


@pytest.fixture(autouse=True, scope="session")
def _threads():
    with dask.config.set(scheduler="threads"):
        yield


@pytest.fixture
def stack() -> xr.DataArray:
    return make_stack()
