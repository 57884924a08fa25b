"""``cluster()``: a Dask client on a secured cluster: from the compute service under a hub,
else a TLS-secured LocalCluster of this process, or an existing scheduler at an address.

The global Dask config is left alone: the dashboard link is a property of the returned client
(:class:`LinkedClient`). Under JupyterHub without the service, it goes through
jupyter-server-proxy: ``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import dask
from dask.system import CPU_COUNT
from distributed import Client, LocalCluster
from distributed.system import MEMORY_LIMIT

from wisehub.compute.api_client import ComputeAPI
from wisehub.compute.linked import PROXY_LINK, LinkedClient
from wisehub.compute.security import ClusterCredentials
from wisehub.config import Settings, get_settings


@dataclass(frozen=True)
class LocalSize:
    """How a LocalCluster is laid out: workers, threads per worker, bytes per worker."""

    workers: int
    threads: int
    memory: int


def local_size(workers: int | None = None, *, cpus: int | None = None,
               memory: int | None = None) -> LocalSize:
    """Split ``cpus`` and ``memory`` bytes (default: what this process may use, cgroup- and
    affinity-aware) between ``workers`` processes (default: one per CPU), keeping 10 % of
    memory for the client.

    >>> local_size(2, cpus=8, memory=16 * 2**30)
    LocalSize(workers=2, threads=4, memory=7730941132)
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}: a cluster needs at least one worker")
    cpus = cpus or CPU_COUNT
    count = workers or cpus
    threads = max(1, cpus // count)
    return LocalSize(count, threads, int((memory or MEMORY_LIMIT) * 0.9 / count))


def dashboard_link_template() -> str:
    """The dashboard link pattern: through the hub's proxy when running under JupyterHub.

    >>> dashboard_link_template() == dask.config.get("distributed.dashboard.link")
    True
    """
    if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        return PROXY_LINK
    return dask.config.get("distributed.dashboard.link")


def cluster(workers: int | None = None, *, adaptive: bool = False,
            threads_per_worker: int | None = None, memory_limit: int | str | None = None,
            address: str | None = None, settings: Settings | None = None) -> Client:
    """A Dask client on a cluster only its owner can connect to.

    - ``address`` (or the ``scheduler_address`` setting): connect to that scheduler;
    - inside a hub server with the compute service: a cluster made by the service (limits,
      culling and TLS are the service's; ``threads_per_worker`` and ``memory_limit`` size each
      worker, ``adaptive=True`` scales between one and ``workers``);
    - otherwise a LocalCluster of ``workers`` processes sized to this machine, secured with
      TLS and credentials held only in this process's memory.

    >>> client = cluster(1, threads_per_worker=1, memory_limit="1GiB")
    >>> client.scheduler.address.startswith("tls://")
    True
    >>> client.cluster.close(); client.close()
    """
    settings = settings or get_settings()
    address = address or settings.scheduler_address
    if address:
        return LinkedClient(address)
    service = ComputeAPI.from_environment()
    if service is not None:
        return service.cluster(workers or settings.dask_workers or 1, adaptive=adaptive,
                               cores=threads_per_worker, memory=memory_limit)
    size = local_size(workers or settings.dask_workers)
    security = ClusterCredentials.new().security()
    local = LocalCluster(
        n_workers=1 if adaptive else size.workers,
        threads_per_worker=threads_per_worker or size.threads,
        memory_limit=memory_limit or size.memory,
        host="127.0.0.1",
        protocol="tls://",
        security=security,
        dashboard_address="127.0.0.1:0",
    )
    if adaptive:
        local.adapt(minimum=1, maximum=size.workers)
    return LinkedClient(local, security=security)
