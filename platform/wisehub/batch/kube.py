"""The Kubernetes backend's objects: pure builders for ``DaskJob`` resources of the
dask-kubernetes operator, and which finished ones the service removes.

A ``DaskJob`` is a runner pod plus the cluster the operator starts for it, and deletes when
the runner ends. The runner pod gets ``restartPolicy: Never`` (a failed night is looked at,
not retried) and ``activeDeadlineSeconds`` = the job's wall time, so Kubernetes itself stops
it. No pod gets a service-account token, and every object carries the owner's labels; the
compute service's RBAC is the only holder of rights on them.

>>> from wisehub.batch.state import JobRecord
>>> job = daskjob(JobRecord.new("ada", kind="function", target="math:sqrt", wall_time=90),
...               image="wisehub/singleuser:1", job_dir="/home/ada/.wisehub/batch/ada/x")
>>> job["spec"]["job"]["spec"]["activeDeadlineSeconds"], job["metadata"]["labels"][USER_LABEL]
(90, 'ada')
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dask_kubernetes.operator import make_cluster_spec

from wisehub.batch.retention import expired
from wisehub.batch.state import JobRecord
from wisehub.compute.kubernetes import harden_pod

GROUP, VERSION = "kubernetes.dask.org", "v1"
USER_LABEL, JOB_LABEL = "wisehub.org/user", "wisehub.org/batch-job"
MANAGED = {"app.kubernetes.io/managed-by": "wisehub", "app.kubernetes.io/component": "batch"}
FINISHED_STATUSES = ("Successful", "Failed")
_LABEL = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def label_value(text: str) -> str:
    """``text`` as a valid label value (a hash suffix keeps escaped names apart).

    >>> label_value("ada"), label_value("ada@example.org")
    ('ada', 'ada-example.org-cfe00dde')
    """
    if len(text) <= 63 and _LABEL.match(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    cleaned = re.sub(r"[^-A-Za-z0-9_.]", "-", text).strip("-_.")[:50]
    return f"{cleaned}-{digest}"


def job_name(record: JobRecord) -> str:
    """The DaskJob's name: DNS-1123, from the job id.

    >>> job_name(JobRecord(id="20260101T120000-0a1b2c3d", user="ada", kind="f", target="t"))
    'batch-20260101t120000-0a1b2c3d'
    """
    return f"batch-{record.id.lower()}"


def labels(record: JobRecord) -> dict[str, str]:
    """The owner labels every object of the job carries."""
    return {**MANAGED, USER_LABEL: label_value(record.user), JOB_LABEL: record.id.lower()}


def _env(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": str(v)} for k, v in sorted(values.items())]


def runner_pod_spec(record: JobRecord, *, image: str, job_dir: str,
                    env: Mapping[str, str] | None = None, cpu: str = "1", memory: str = "2G",
                    volumes: Iterable[dict[str, Any]] = (),
                    volume_mounts: Iterable[dict[str, Any]] = (), uid: int = 1000
                    ) -> dict[str, Any]:
    """The runner pod: the user's image running ``python -m wisehub.batch.runner``."""
    container = {
        "name": "job",
        "image": image,
        "args": ["python", "-m", "wisehub.batch.runner", job_dir],
        "env": _env({**(env or {}), "WISEHUB_USER": record.user}),
        "resources": {"requests": {"cpu": cpu, "memory": memory},
                      "limits": {"cpu": cpu, "memory": memory}},
        "volumeMounts": list(volume_mounts),
    }
    spec = {"restartPolicy": "Never",
            "activeDeadlineSeconds": max(1, math.ceil(record.wall_time)),
            "containers": [container], "volumes": list(volumes)}
    return harden_pod(spec, uid)


def cluster_spec(record: JobRecord, *, image: str, env: Mapping[str, str] | None = None,
                 worker_cpu: str = "1", worker_memory: str = "2G", uid: int = 1000
                 ) -> dict[str, Any]:
    """The job's Dask cluster (the ``spec`` of a DaskCluster), from the operator's builder.

    An adaptive job starts with one worker; its ``DaskAutoscaler`` (:func:`daskautoscaler`)
    scales it up to ``record.workers``.
    """
    resources = {"requests": {"cpu": worker_cpu, "memory": worker_memory},
                 "limits": {"cpu": worker_cpu, "memory": worker_memory}}
    built = make_cluster_spec(job_name(record), image=image,
                              n_workers=1 if record.adaptive else record.workers,
                              resources=resources, env=_env(env or {}))
    spec = copy.deepcopy(built["spec"])
    harden_pod(spec["worker"]["spec"], uid)
    harden_pod(spec["scheduler"]["spec"], uid)
    spec["scheduler"]["metadata"] = {"labels": labels(record)}
    spec["worker"]["metadata"] = {"labels": labels(record)}
    return spec


def daskjob(record: JobRecord, *, image: str, job_dir: str, namespace: str | None = None,
            env: Mapping[str, str] | None = None, runner_cpu: str = "1",
            runner_memory: str = "2G", worker_cpu: str = "1", worker_memory: str = "2G",
            volumes: Iterable[dict[str, Any]] = (),
            volume_mounts: Iterable[dict[str, Any]] = (), uid: int = 1000) -> dict[str, Any]:
    """The ``DaskJob`` resource for one batch job (a plain dict, nothing is sent)."""
    volumes, volume_mounts = list(volumes), list(volume_mounts)
    metadata: dict[str, Any] = {"name": job_name(record), "labels": labels(record)}
    if namespace:
        metadata["namespace"] = namespace
    job_spec = runner_pod_spec(record, image=image, job_dir=job_dir, env=env, cpu=runner_cpu,
                               memory=runner_memory, volumes=volumes,
                               volume_mounts=volume_mounts, uid=uid)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DaskJob",
        "metadata": metadata,
        "spec": {
            "job": {"metadata": {"labels": labels(record)}, "spec": job_spec},
            "cluster": {"spec": cluster_spec(record, image=image, env=env,
                                             worker_cpu=worker_cpu, worker_memory=worker_memory,
                                             uid=uid)},  # labels: on its pods (CRD has none here)
        },
    }


def daskautoscaler(record: JobRecord, namespace: str | None = None) -> dict[str, Any]:
    """The ``DaskAutoscaler`` of an adaptive job: between 1 and its worker limit."""
    metadata: dict[str, Any] = {"name": job_name(record), "labels": labels(record)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DaskAutoscaler", "metadata": metadata,
            "spec": {"cluster": job_name(record), "minimum": 1, "maximum": record.workers}}


def expired_daskjobs(items: Iterable[Mapping[str, Any]], *, now: datetime,
                     retention: float) -> list[str]:
    """Names of our finished DaskJobs whose end is older than ``retention`` s.

    >>> from datetime import UTC, datetime
    >>> done = {"metadata": {"name": "batch-a", "labels": MANAGED},
    ...         "status": {"jobStatus": "Successful", "endTime": "2026-01-01T00:00:00Z"}}
    >>> expired_daskjobs([done], now=datetime(2026, 1, 9, tzinfo=UTC), retention=7 * 86400)
    ['batch-a']
    """
    ended: dict[str, datetime | None] = {}
    for item in items:
        meta, status = item.get("metadata", {}), item.get("status") or {}
        if (meta.get("labels") or {}).get("app.kubernetes.io/managed-by") != "wisehub":
            continue  # not ours: never touched
        end = status.get("endTime")
        finished = status.get("jobStatus") in FINISHED_STATUSES and end
        ended[meta["name"]] = datetime.fromisoformat(end.replace("Z", "+00:00")) \
            if finished else None
    return expired(ended, now=now, retention=retention)
