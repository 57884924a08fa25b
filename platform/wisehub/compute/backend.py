"""What the cluster manager needs of a backend (local processes, or the dask-kubernetes
operator): start, resize, stop and watch clusters, and find them again after a restart.

The manager keeps limits, records and lifecycle (owner's server, lifetime); a backend only
makes its clusters real. Both backends satisfy :class:`Backend`:

>>> from wisehub.compute.localbackend import LocalBackend
>>> from wisehub.compute.kubebackend import KubeBackend
>>> all(issubclass(b, Backend) for b in (LocalBackend, KubeBackend))
True
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from wisehub.compute.records import ClusterRecord, RecordStore
from wisehub.compute.security import ClusterCredentials


class BackendError(RuntimeError):
    """A cluster could not be made or changed; the message says what and where to look."""


@runtime_checkable
class Backend(Protocol):
    """Makes clusters real; every method is given the manager's record of the cluster."""

    async def start(self, record: ClusterRecord, credentials: ClusterCredentials,
                    dashboard_prefix: str) -> None:
        """Make the cluster (TLS with ``credentials``, dashboard served under
        ``dashboard_prefix``, ``record.workers`` workers or ``record.adaptive``); fill in
        ``record.address``."""

    async def scale(self, record: ClusterRecord) -> None:
        """Bring the cluster to ``record.workers``, or under ``record.adaptive`` bounds."""

    async def stop(self, record: ClusterRecord) -> None:
        """Remove everything of the cluster (a cluster already gone is no error)."""

    async def ended(self, records: list[ClusterRecord]) -> set[str]:
        """The ids among ``records`` whose cluster no longer runs (idle timeout, crash,
        garbage collection)."""

    async def supervise(self, record: ClusterRecord) -> None:
        """One round of care for a running cluster (restart workers, adapt)."""

    async def rediscover(self, store: RecordStore
                         ) -> tuple[list[ClusterRecord], list[ClusterRecord]]:
        """After a restart: the clusters still running, and those to remove."""

    def dashboard_url(self, record: ClusterRecord) -> str | None:
        """Where the cluster's dashboard answers (``scheme://host:port``), if it does yet."""
