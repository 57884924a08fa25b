"""One real Dask LocalCluster (2 worker processes on 127.0.0.1) for the compute tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from distributed import LocalCluster

WORKER_MEMORY = 450 * 2**20  # the big-stack test exceeds twice this


def compile_kernels() -> None:
    """Compile (and cache) the combine kernels here, before the workers start.

    On a fresh checkout numba has no cache yet; compiling inside a worker of 450 MiB takes
    more memory than it may use, so the nanny would restart it again and again.
    """
    import numpy as np
    import wisehub as wh
    import xarray as xr

    stack = xr.DataArray(np.ones((3, 4, 4), np.float32), dims=("frame", "y", "x"))
    for method in ("mean", "median", "sigma_clip", "minmax"):
        wh.reduce.combine(stack, method).compute(scheduler="sync")


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """Two single-threaded worker processes with a small memory limit each."""
    compile_kernels()
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=WORKER_MEMORY,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        yield cluster
