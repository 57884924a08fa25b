"""The Kubernetes backend's client: create, read, cancel and remove ``DaskJob`` resources.

The objects come from the pure builders of :mod:`wisehub.batch.kube`. The calls go through
the compute service's Kubernetes client (:class:`wisehub.compute.kubernetes.KubeAPI`, which
:class:`KubeJobs` extends with the batch kinds): the service's only way to the API server,
whose RBAC holds the rights (users hold none). A job's status is read from its ``DaskJob``
as the dask-kubernetes operator writes it (:func:`job_status`), and finished jobs are removed
after the retention.

>>> job_status({"status": {"jobStatus": "Running"}})
'running'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from wisehub.batch.errors import UnknownJobError
from wisehub.batch.kube import (
    GROUP,
    JOB_LABEL,
    MANAGED,
    USER_LABEL,
    VERSION,
    daskautoscaler,
    daskjob,
    expired_daskjobs,
    job_name,
    label_value,
)
from wisehub.batch.state import (
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    JobRecord,
    check_job_id,
)
from wisehub.compute.kubernetes import KubeAPI, KubeError

CANCELLED_LABEL = "wisehub.org/cancelled"
PLURALS = {"DaskJob": "daskjobs", "DaskAutoscaler": "daskautoscalers"}
OPERATOR_STATUS = {None: QUEUED, "JobCreated": QUEUED, "ClusterCreated": QUEUED,
                   "Running": RUNNING, "Successful": SUCCEEDED}


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def job_status(item: Mapping[str, Any]) -> str:
    """queued, running, succeeded, failed, cancelled or timed-out, from a ``DaskJob``.

    The operator says only ``Failed`` when Kubernetes stops the runner at its
    ``activeDeadlineSeconds``; a failed job that ran that long is timed-out. A job its owner
    cancelled carries :data:`CANCELLED_LABEL` (while Kubernetes deletes it).

    >>> ran = {"startTime": "2026-01-01T00:00:00Z", "endTime": "2026-01-01T00:01:30Z"}
    >>> deadline = {"spec": {"job": {"spec": {"activeDeadlineSeconds": 90}}}}
    >>> job_status({**deadline, "status": {"jobStatus": "Failed", **ran}})
    'timed-out'
    >>> job_status({"spec": {}, "status": {"jobStatus": "Failed", **ran}})
    'failed'
    """
    meta, status = item.get("metadata") or {}, item.get("status") or {}
    if (meta.get("labels") or {}).get(CANCELLED_LABEL) == "true":
        return CANCELLED
    phase = status.get("jobStatus")
    if phase != "Failed":
        return OPERATOR_STATUS.get(phase, QUEUED)
    deadline = (item.get("spec", {}).get("job", {}).get("spec", {})
                .get("activeDeadlineSeconds"))
    start, end = _time(status.get("startTime")), _time(status.get("endTime"))
    if deadline and start and end and (end - start).total_seconds() >= deadline - 1:
        return TIMED_OUT
    return FAILED


class KubeJobs(KubeAPI):
    """One namespace's batch jobs as ``DaskJob`` resources: the compute service's Kubernetes
    client (same URL, namespace, token and TLS), taught the batch kinds."""

    def _path(self, kind: str, name: str | None = None) -> str:
        if kind not in PLURALS:
            return super()._path(kind, name)
        path = (f"{self.url}/apis/{GROUP}/{VERSION}/namespaces/{quote(self.namespace)}/"
                f"{PLURALS[kind]}")
        return f"{path}/{quote(name)}" if name else path

    async def submit(self, record: JobRecord, **build: Any) -> dict[str, Any]:
        """Create the job's ``DaskJob`` (and ``DaskAutoscaler`` if adaptive); ``build`` goes to
        :func:`wisehub.batch.kube.daskjob` (``image``, ``job_dir``, volumes, sizes)."""
        made = await self.create(daskjob(record, namespace=self.namespace, **build))
        if record.adaptive:
            await self.create(daskautoscaler(record, self.namespace))
        return made

    async def job(self, user: str, job_id: str) -> dict[str, Any]:
        """``user``'s ``DaskJob`` for ``job_id``; :class:`UnknownJobError` if there is none (or
        it is someone else's)."""
        name = job_name(JobRecord(id=check_job_id(job_id), user=user, kind="", target=""))
        try:
            item = await self._call("GET", self._path("DaskJob", name))
        except KubeError as err:
            if " 404 " not in str(err):
                raise
            item = None
        labels = (item or {}).get("metadata", {}).get("labels") or {}
        if item is None or labels.get(USER_LABEL) != label_value(user) \
                or not MANAGED.items() <= labels.items():
            raise UnknownJobError(f"no batch job {job_id} for user {user!r}")
        return item

    async def status(self, user: str, job_id: str) -> str:
        """The job's status (see :func:`job_status`)."""
        return job_status(await self.job(user, job_id))

    async def jobs(self, user: str | None = None) -> list[dict[str, Any]]:
        """Our ``DaskJob`` resources (``user``'s only, if given)."""
        wanted = {**MANAGED, **({USER_LABEL: label_value(user)} if user else {})}
        selector = ",".join(f"{k}={v}" for k, v in wanted.items())
        listing = await self._call("GET", self._path("DaskJob"),
                                   params={"labelSelector": selector})
        # The selector is the server's job; the guarantee is ours.
        return [item for item in listing.get("items", [])
                if wanted.items() <= (item.get("metadata", {}).get("labels") or {}).items()]

    async def _remove(self, item: Mapping[str, Any]) -> None:
        """Delete a job's DaskJob and its DaskAutoscaler, if it has one (found by label)."""
        job = item["metadata"]["labels"][JOB_LABEL]
        listing = await self._call("GET", self._path("DaskAutoscaler"),
                                   params={"labelSelector": f"{JOB_LABEL}={job}"})
        for scaler in listing.get("items", []):
            if (scaler["metadata"].get("labels") or {}).get(JOB_LABEL) == job:
                await self.delete("DaskAutoscaler", scaler["metadata"]["name"])
        await self.delete("DaskJob", item["metadata"]["name"])

    async def cancel(self, user: str, job_id: str) -> str:
        """Stop one of ``user``'s jobs: mark it cancelled, then delete it (Kubernetes deletes
        its runner pod and cluster with it). A finished job is left as it is."""
        item = await self.job(user, job_id)
        status = job_status(item)
        if status not in (QUEUED, RUNNING):
            return status
        await self.label("DaskJob", item["metadata"]["name"], {CANCELLED_LABEL: "true"})
        await self._remove(item)
        return CANCELLED

    async def cleanup(self, retention: float, now: datetime | None = None) -> list[str]:
        """Remove our finished jobs that ended more than ``retention`` s ago; their names."""
        items = {item["metadata"]["name"]: item for item in await self.jobs()}
        gone = expired_daskjobs(items.values(), now=now or datetime.now(UTC),
                                retention=retention)
        for name in gone:
            await self._remove(items[name])
        return gone
