"""The local backend: jobs as detached, supervised processes with their state on disk.

Every operation works on the caller's own job directories only (:class:`UserJobs`), so one
user cannot list, read, cancel or fetch another's jobs through it. Reading a job also notices
a supervisor that died without finishing the state (machine reboot, SIGKILL) and marks the
job failed, so nothing stays "running" forever.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import cloudpickle

from wisehub.batch.errors import JobStateError
from wisehub.batch.launch import start_detached
from wisehub.batch.limits import check_limits
from wisehub.batch.process import alive, group_alive, stop_job
from wisehub.batch.retention import expired
from wisehub.batch.settings import BatchLimits, BatchSettings
from wisehub.batch.state import (
    ACTIVE,
    CALL,
    CANCELLED,
    CLUSTER,
    FAILED,
    OUTPUT_NOTEBOOK,
    RESULT_FILE,
    RESULT_JSON,
    STDERR,
    STDOUT,
    SUCCEEDED,
    SUPERVISOR_LOG,
    WORKER_LOG,
    JobRecord,
    UserJobs,
    now,
    parse_time,
)
from wisehub.config import Settings, get_settings

START_GRACE_S = 120.0  # a queued job whose supervisor has not written its pid yet is not lost


class ClusterLease(Protocol):
    """Where a job's cluster comes from when it is not its own LocalCluster (the compute
    service): taken after the limits pass, given back if the job does not start."""

    def acquire(self, record: JobRecord, directory: Path) -> None:
        """Make the job's cluster and write its connection into ``directory``."""

    def release(self) -> None:
        """Remove the cluster again (the job could not be started)."""


class LocalBackend:
    """One user's batch jobs on this machine."""

    def __init__(self, settings: Settings | None = None, batch: BatchSettings | None = None,
                 *, user: str | None = None, groups: Sequence[str] | None = None,
                 environment: Mapping[str, str] | None = None) -> None:
        self.settings = settings or get_settings()
        self.environment = environment
        self.batch = batch or BatchSettings()
        self.user = user or self.settings.user
        self.groups = list(self.settings.groups if groups is None else groups)
        self.jobs = UserJobs(self.batch.root(self.settings.data_dir), self.user)

    # ----------------------------------------------------------------- submit
    def job_environment(self) -> dict[str, str]:
        """The job's environment: the submitter's (or the one given), with these settings and
        this user."""
        base = os.environ if self.environment is None else self.environment
        return {**base, **self.settings.environment(), "WISEHUB_USER": self.user,
                "WISEHUB_GROUPS": ",".join(self.groups)}

    def submit(self, record: JobRecord, call: dict[str, Any] | bytes | None = None,
               cluster: ClusterLease | None = None, limits: BatchLimits | None = None
               ) -> JobRecord:
        """Check the limits, create the job (its cluster from ``cluster`` if given) and start
        its supervisor; return the record. Whatever fails leaves nothing queued."""
        limits = limits or self.batch.limits_for(self.groups)
        with self.jobs.locked():
            self.cleanup()
            active = [r.id for r in self.records() if r.status in ACTIVE]
            check_limits(limits, user=self.user, groups=self.groups, workers=record.workers,
                         wall_time=record.wall_time, active=active)
            self.jobs.create(record)
            directory = self.jobs.directory(record.id)
            try:
                if call is not None:
                    path = directory / CALL
                    path.touch(mode=0o600)
                    path.write_bytes(call if isinstance(call, bytes) else cloudpickle.dumps(call))
                if cluster is not None:
                    cluster.acquire(record, directory)
                try:
                    start_detached(directory, self.batch.kill_grace, directory / SUPERVISOR_LOG,
                                   self.job_environment())
                except BaseException:
                    if cluster is not None:
                        cluster.release()
                    raise
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
        return record

    # ------------------------------------------------------------------ reads
    def record(self, job_id: str) -> JobRecord:
        """The job's current record (a job whose supervisor vanished is marked failed)."""
        record = self.jobs.load(job_id)
        if record.status in ACTIVE and not self._supervised(record):
            record = self.jobs.load(job_id)  # it may have finished meanwhile
            if record.status in ACTIVE:
                if record.runner.get("pgid") and group_alive(record.runner["pgid"]):
                    stop_job(record.runner, self.batch.kill_grace)
                self._release_cluster(job_id)
                record.status, record.ended_at = FAILED, now()
                record.message = "failed: its supervisor stopped unexpectedly"
                record.error = record.error or self._tail(job_id, STDERR, 40)
                self.jobs.save(record)
        return record

    def _supervised(self, record: JobRecord) -> bool:
        if record.supervisor:
            return alive(record.supervisor)
        submitted = parse_time(record.submitted_at) or datetime.now(UTC)
        return (datetime.now(UTC) - submitted).total_seconds() < START_GRACE_S

    def _release_cluster(self, job_id: str) -> None:
        """End the compute-service cluster of a job whose supervisor cannot any more."""
        directory = self.jobs.directory(job_id)
        if (directory / CLUSTER).exists():
            from wisehub.batch.cluster import release_cluster  # imports distributed

            release_cluster(directory)

    def records(self) -> list[JobRecord]:
        """All of this user's jobs, oldest first."""
        return sorted((self.record(job_id) for job_id in self.jobs.ids()),
                      key=lambda r: (r.submitted_at, r.id))

    def path(self, job_id: str, name: str) -> Path:
        """A file of one of this user's jobs."""
        return self.jobs.directory(job_id) / name

    def _tail(self, job_id: str, name: str, lines: int) -> str:
        path = self.path(job_id, name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def logs(self, job_id: str, lines: int = 100) -> str:
        """The tail of the job's stdout, stderr (workers log there too), worker logs and
        supervisor log, each under a heading; a failed job's traceback comes last."""
        record = self.record(job_id)
        parts = []
        for title, name in (("stdout", STDOUT), ("stderr (runner and Dask workers)", STDERR),
                            ("Dask worker logs", WORKER_LOG), ("supervisor", SUPERVISOR_LOG)):
            text = self._tail(job_id, name, lines)
            if text:
                parts.append(f"==> {title} <==\n{text}")
        if record.status == FAILED and record.error:
            parts.append(f"==> traceback <==\n{record.error}")
        return "\n\n".join(parts)

    def result(self, job_id: str) -> Any:
        """A function job's return value, or the path of a notebook job's output notebook."""
        record = self.record(job_id)
        if record.status != SUCCEEDED:
            detail = f"\n{record.error}" if record.error else ""
            raise JobStateError(f"job {job_id} is {record.status}, so it has no result yet"
                                f"{'' if record.status in ACTIVE else detail}")
        if record.kind == "notebook":
            return self.path(job_id, OUTPUT_NOTEBOOK)
        # Written by this user's own runner into their private job directory.
        return pickle.loads(self.path(job_id, RESULT_FILE).read_bytes())

    def result_json(self, job_id: str) -> Any:
        """The return value in JSON form (for REST), or :class:`JobStateError` if it has none."""
        self.result(job_id)
        path = self.path(job_id, RESULT_JSON)
        if not path.exists():
            raise JobStateError(f"job {job_id}'s result is not JSON; fetch it with "
                                "wh.batch.job(id).result()")
        return path.read_text()

    # ----------------------------------------------------------------- writes
    def cancel(self, job_id: str, wait: float = 30.0) -> JobRecord:
        """Stop a queued or running job (its whole process group); finished jobs are left."""
        record = self.record(job_id)
        if record.finished:
            return record
        deadline = time.monotonic() + wait
        while not record.supervisor and time.monotonic() < deadline:
            time.sleep(0.05)  # just submitted: wait for the supervisor to say who it is
            record = self.jobs.load(job_id)
        if alive(record.supervisor):
            os.kill(record.supervisor["pid"], signal.SIGTERM)
            while time.monotonic() < deadline and not record.finished:
                time.sleep(0.05)
                record = self.jobs.load(job_id)
        if not record.finished:
            if record.runner.get("pgid"):
                stop_job(record.runner, self.batch.kill_grace)
            self._release_cluster(job_id)
            record.status, record.ended_at = CANCELLED, now()
            record.message = "cancelled by its owner"
            self.jobs.save(record)
        return record

    def cleanup(self) -> list[str]:
        """Remove this user's finished jobs older than the retention; return their ids."""
        records = {r.id: r for r in (self.jobs.load(i) for i in self.jobs.ids())}
        ended = {i: parse_time(r.ended_at) if r.finished else None for i, r in records.items()}
        gone = expired(ended, now=datetime.now(UTC), retention=self.batch.retention)
        for job_id in gone:
            shutil.rmtree(self.jobs.directory(job_id))
        return gone

