"""One real Dask LocalCluster (2 worker processes on 127.0.0.1) for the compute tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from distributed import LocalCluster

WORKER_MEMORY = 450 * 2**20  # the big-stack test exceeds twice this


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """Two single-threaded worker processes with a small memory limit each."""
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=WORKER_MEMORY,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        yield cluster
