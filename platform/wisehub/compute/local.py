"""``cluster()``: a Dask client, on a LocalCluster sized to the machine or at an address.

Under JupyterHub the dashboard is reached through jupyter-server-proxy, so its link becomes
``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status`` (the path dask-labextension uses too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dask
from dask.system import CPU_COUNT
from distributed import Client, LocalCluster
from distributed.system import MEMORY_LIMIT

from wisehub.config import Settings, get_settings

PROXY_LINK = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"


@dataclass(frozen=True)
class LocalSize:
    """How a LocalCluster is laid out: workers, threads per worker, bytes per worker."""

    workers: int
    threads: int
    memory: int


def local_size(workers: int | None = None, *, cpus: int = CPU_COUNT,
               memory: int = MEMORY_LIMIT) -> LocalSize:
    """Split the CPUs and memory this process may use (cgroup- and affinity-aware) between
    ``workers`` processes (default: one per CPU), keeping 10 % of memory for the client.

    >>> local_size(2, cpus=8, memory=16 * 2**30)
    LocalSize(workers=2, threads=4, memory=7730941132)
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: a cluster needs at least one worker")
    count = workers or cpus
    threads = max(1, cpus // count)
    return LocalSize(count, threads, int(memory * 0.9 / count))


def dashboard_link_template() -> str:
    """The dashboard link pattern: through the hub's proxy when running under JupyterHub."""
    if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        return PROXY_LINK
    return dask.config.get("distributed.dashboard.link")


def cluster(workers: int | None = None, *, adaptive: bool = False,
            threads_per_worker: int | None = None, memory_limit: int | str | None = None,
            address: str | None = None, settings: Settings | None = None) -> Client:
    """A Dask client: connected to ``address`` (or the ``scheduler_address`` setting), else
    to a new LocalCluster of ``workers`` processes sized to this machine.

    ``adaptive=True`` lets the LocalCluster scale between one and ``workers`` workers.

    >>> client = cluster(1, threads_per_worker=1, memory_limit="1GiB")  # doctest: +SKIP
    >>> client.dashboard_link  # doctest: +SKIP
    '/user/ada/proxy/8787/status'
    """
    settings = settings or get_settings()
    address = address or settings.scheduler_address
    dask.config.set({"distributed.dashboard.link": dashboard_link_template()})
    if address:
        return Client(address)
    size = local_size(workers or settings.dask_workers)
    local = LocalCluster(
        n_workers=1 if adaptive else size.workers,
        threads_per_worker=threads_per_worker or size.threads,
        memory_limit=memory_limit or size.memory,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    if adaptive:
        local.adapt(minimum=1, maximum=size.workers)
    return Client(local)
