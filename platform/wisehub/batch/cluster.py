"""The job's own Dask cluster: acquired by the runner through one function.

Locally it is a TLS-secured ``LocalCluster`` with throwaway credentials (distributed's
``Security.temporary()``), sized like ``wh.cluster()`` sizes one. The credentials are also
written, 0600, into the job directory, with the Dask settings that point at them, so a
notebook's kernel (a separate process) reaches the same cluster with ``wh.cluster()`` and
nobody without the files does. When the compute service takes over, only
:func:`job_cluster` changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from distributed import Client, LocalCluster
from distributed.security import Security

from wisehub.compute import local_size


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
    path.touch(mode=0o600)
    path.write_text(text)
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


@contextmanager
def job_cluster(workers: int, adaptive: bool, tls_dir: Path
                ) -> Iterator[tuple[Client, dict[str, str]]]:
    """A client on the job's new cluster, and the env vars for its kernels; closed after."""
    security = Security.temporary()
    with LocalCluster(security=security, **cluster_options(workers, adaptive)) as cluster:
        if adaptive:
            cluster.adapt(minimum=1, maximum=workers)
        with Client(cluster, security=security) as client:
            yield client, connection_env(security, cluster.scheduler_address, tls_dir)
