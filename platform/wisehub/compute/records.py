"""What the service knows of each cluster, kept on disk so a restart finds every cluster.

Records are JSON files (0600) in a directory only the service can enter (0700), one per
cluster, written atomically on every change.

>>> import tempfile
>>> store = RecordStore(Path(tempfile.mkdtemp()))
>>> store.save(ClusterRecord(id="c-1", owner="ada", workers=1))
>>> [r.owner for r in store.load()]
['ada']
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from wisehub.compute.limits import Demand
from wisehub.compute.security import ClusterCredentials, write_private_json
from wisehub.processes import ProcessStamp


@dataclass
class ClusterRecord:
    """One cluster: owner, size, where it listens and which processes are its own."""

    id: str
    owner: str
    workers: int = 1
    adaptive: dict | None = None
    worker_cores: float = 1
    worker_memory: int = 2**30
    lifetime: float = 8 * 3600
    idle_timeout: float = 1800
    created: float = field(default_factory=time.time)
    status: str = "starting"
    address: str | None = None
    dashboard_port: int | None = None
    scheduler: ProcessStamp | None = None
    worker_processes: dict[str, ProcessStamp] = field(default_factory=dict)
    job: str | None = None
    """The batch job this cluster belongs to (it does not follow the owner's server)."""
    image: str | None = None
    """Kubernetes: the image the cluster's pods run."""
    owner_pod: dict[str, str] | None = None
    """Kubernetes: ``{"name", "uid"}`` of the owner's server pod."""

    @property
    def demand(self) -> Demand:
        """What this cluster holds against its owner's limits (adaptive: its maximum)."""
        count = self.adaptive["maximum"] if self.adaptive else self.workers
        return Demand(workers=count, worker_cores=self.worker_cores,
                      worker_memory=self.worker_memory)

    def public(self) -> dict:
        """The description users see (no credentials, no pids)."""
        return {"id": self.id, "owner": self.owner, "status": self.status,
                "workers": self.workers, "adaptive": self.adaptive,
                "worker_cores": self.worker_cores, "worker_memory": self.worker_memory,
                "running_workers": len(self.worker_processes), "created": self.created,
                "expires": self.created + self.lifetime, "idle_timeout": self.idle_timeout,
                "job": self.job}

    @classmethod
    def from_dict(cls, data: dict) -> ClusterRecord:
        """A record read back from :meth:`RecordStore.save`'s JSON."""
        data = dict(data)
        if data.get("scheduler"):
            data["scheduler"] = ProcessStamp(**data["scheduler"])
        data["worker_processes"] = {k: ProcessStamp(**v)
                                    for k, v in data.get("worker_processes", {}).items()}
        return cls(**data)


class RecordStore:
    """Cluster records as files in ``directory`` (created 0700)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)

    def save(self, record: ClusterRecord) -> None:
        """Write (or replace) ``record``."""
        write_private_json(self.directory / f"{record.id}.json", asdict(record))

    def remove(self, cluster_id: str) -> None:
        """Forget a cluster (and its credentials)."""
        (self.directory / f"{cluster_id}.json").unlink(missing_ok=True)
        (self.directory / f"{cluster_id}.tls").unlink(missing_ok=True)

    def save_credentials(self, cluster_id: str, credentials: ClusterCredentials) -> None:
        """Keep the service's own copy of a cluster's credentials (never read back from the
        cluster's directory, which its owner controls in system-users mode)."""
        write_private_json(self.directory / f"{cluster_id}.tls", credentials.as_dict())

    def credentials(self, cluster_id: str) -> ClusterCredentials:
        """The credentials :meth:`save_credentials` kept."""
        data = json.loads((self.directory / f"{cluster_id}.tls").read_text())
        return ClusterCredentials.from_dict(data)

    def load(self) -> list[ClusterRecord]:
        """Every record on disk (unreadable leftovers of a crash are skipped and removed)."""
        records = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                records.append(ClusterRecord.from_dict(json.loads(path.read_text())))
            except (ValueError, TypeError, KeyError):
                path.unlink()
        return records
