"""The job's own Dask cluster: acquired by the runner through one function.

Under a hub the compute service made it at submit time, within the owner's compute limits and
counted against them: its address and TLS credentials are in the job directory
(``cluster.json``, 0600), and the job ends it (:func:`release_cluster`) when it is over.
Elsewhere it is a TLS-secured ``LocalCluster`` with throwaway credentials (distributed's
``Security.temporary()``), sized like ``wh.cluster()`` sizes one. Either way the credentials
are also written, 0600, into the job directory, with the Dask settings that point at them, so
a notebook's kernel (a separate process) reaches the same cluster with ``wh.cluster()`` and
nobody without the files does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from distributed import Client, LocalCluster
from distributed.core import rpc
from distributed.security import Security

from wisehub.batch.connection import read_connection
from wisehub.compute import local_size
from wisehub.compute.security import ClusterCredentials, write_private

KEEP_BUSY_S = 60.0
"""How often a job touches its service cluster, whose scheduler would close itself after the
compute idle timeout while the job works without Dask."""


def cluster_options(workers: int, adaptive: bool) -> dict[str, object]:
    """LocalCluster arguments for a job of ``workers`` (also the benchmark's reference).

    >>> cluster_options(2, adaptive=True)["n_workers"]
    1
    """
    size = local_size(workers)
    return {"n_workers": 1 if adaptive else size.workers, "threads_per_worker": size.threads,
            "memory_limit": size.memory, "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0",
            "silence_logs": False}


def _write_private(path: Path, text: str) -> Path:
    write_private(path, text)
    return path


def connection_env(security: Security, address: str, tls_dir: Path) -> dict[str, str]:
    """Env vars that let another process of this job (a kernel) reach its cluster."""
    tls_dir.mkdir(mode=0o700, exist_ok=True)
    ca = _write_private(tls_dir / "ca.pem", security.tls_ca_file)
    cert = _write_private(tls_dir / "client.pem", security.tls_client_cert)
    key = _write_private(tls_dir / "client.key", security.tls_client_key)
    return {"WISEHUB_SCHEDULER_ADDRESS": address,
            "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION": "True",
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(ca),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(cert),
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(key)}


def _noop() -> None:
    return None


@contextmanager
def _kept_busy(client: Client, every: float = KEEP_BUSY_S) -> Iterator[None]:
    """Run a no-op task every ``every`` s while the job runs, so its cluster is not idle."""
    done = threading.Event()

    def touch() -> None:
        while not done.wait(every):
            try:
                client.submit(_noop, pure=False).result(timeout=every)
            except Exception:  # the job notices a lost cluster itself
                return

    thread = threading.Thread(target=touch, name="wisehub-batch-keep-busy", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


@contextmanager
def job_cluster(workers: int, adaptive: bool, directory: Path
                ) -> Iterator[tuple[Client, dict[str, str]]]:
    """A client on the job's cluster, and the env vars for its kernels; closed after."""
    tls_dir = directory / "tls"
    connection = read_connection(directory)
    if connection is not None:
        security = ClusterCredentials.from_dict(connection["credentials"]).security()
        with Client(connection["address"], security=security) as client, _kept_busy(client):
            yield client, connection_env(security, connection["address"], tls_dir)
        return
    security = Security.temporary()
    with LocalCluster(security=security, **cluster_options(workers, adaptive)) as cluster:
        if adaptive:
            cluster.adapt(minimum=1, maximum=workers)
        with Client(cluster, security=security) as client:
            yield client, connection_env(security, cluster.scheduler_address, tls_dir)


def release_cluster(directory: Path, timeout: float = 30) -> bool:
    """End a job's service cluster (scheduler and workers), if it has one and it still runs;
    the compute service then forgets it and it no longer counts against the owner's limits.
    Returns whether the cluster was asked to stop."""
    connection = read_connection(directory)
    if connection is None:
        return False
    security = ClusterCredentials.from_dict(connection["credentials"]).security()

    async def terminate() -> bool:
        async with rpc(connection["address"], timeout=10,
                       connection_args=security.get_connection_args("client")) as scheduler:
            try:
                await scheduler.identity()
            except OSError:
                return False  # already gone
            with suppress(OSError):  # it may close the connection before it answers
                await scheduler.terminate()
            return True

    try:
        return asyncio.run(asyncio.wait_for(terminate(), timeout))
    except TimeoutError:
        return False
