"""A job's service cluster, as its directory records it: address and TLS credentials.

The compute service writes this file when it makes the job's cluster; the runner reads it to
join that cluster (:mod:`wisehub.batch.cluster`). Neither side needs distributed for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wisehub.batch.state import CLUSTER
from wisehub.compute.security import ClusterCredentials, write_private


def write_connection(directory: Path, cluster_id: str, address: str,
                     credentials: ClusterCredentials) -> None:
    """Keep a service cluster's address and credentials in the job directory (0600)."""
    write_private(directory / CLUSTER, json.dumps({
        "cluster": cluster_id, "address": address, "credentials": credentials.as_dict()}))


def read_connection(directory: Path) -> dict[str, Any] | None:
    """The service cluster of a job (None: the job starts its own LocalCluster).

    >>> import tempfile
    >>> read_connection(Path(tempfile.mkdtemp())) is None
    True
    """
    path = directory / CLUSTER
    return json.loads(path.read_text()) if path.exists() else None
