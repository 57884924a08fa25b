"""Job state on disk: one private directory per job under the user's own directory.

``<root>/<user>/<job id>/`` (0700) holds ``state.json`` (written atomically: a temporary file
renamed over the old one), the pickled call, the logs and the outputs. A user's directory must
belong to the user's own OS account: a directory another account created there is refused,
so nobody can plant a directory to read someone's jobs.

>>> import tempfile
>>> jobs = UserJobs(Path(tempfile.mkdtemp()), "ada")
>>> record = jobs.create(JobRecord.new("ada", kind="function", target="math:sqrt"))
>>> jobs.load(record.id).status
'queued'
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wisehub.batch.errors import UnknownJobError

QUEUED, RUNNING = "queued", "running"
SUCCEEDED, FAILED, CANCELLED, TIMED_OUT = "succeeded", "failed", "cancelled", "timed-out"
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, TIMED_OUT)

# The files of a job directory.
CALL, RESULT_FILE, RESULT_JSON = "call.pkl", "result.pkl", "result.json"
OUTPUT_NOTEBOOK, OUTCOME = "output.ipynb", "outcome.json"
STDOUT, STDERR, WORKER_LOG = "stdout.log", "stderr.log", "workers.log"
SUPERVISOR_LOG = "supervisor.log"
CLUSTER = "cluster.json"  # the compute service's cluster of the job (under a hub)

JOB_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
USER = re.compile(r"^[A-Za-z0-9._@-]+$")


def now() -> str:
    """The current UTC time as ISO 8601 text (how state files keep times)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str | None) -> datetime | None:
    """An ISO time from a state file, or None."""
    return datetime.fromisoformat(text) if text else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` as JSON atomically (0600): readers see old or new."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=1, default=str)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class JobRecord:
    """Everything known about a job; ``state.json`` is this as JSON."""

    id: str
    user: str
    kind: str  # "function" or "notebook"
    target: str  # "pkg.module:function", "file.py:function", "<pickled>:name" or a notebook path
    name: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    adaptive: bool = False
    wall_time: float = 3600.0
    outputs: list[str] = field(default_factory=list)
    cwd: str = ""
    code_version: str = ""
    status: str = QUEUED
    submitted_at: str = field(default_factory=now)
    started_at: str | None = None
    ended_at: str | None = None
    message: str = ""
    error: str = ""
    exit_code: int | None = None
    supervisor: dict[str, Any] = field(default_factory=dict)
    runner: dict[str, Any] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)
    has_result: bool = False

    @classmethod
    def new(cls, user: str, **values: Any) -> JobRecord:
        """A queued job with a fresh id (its submission time plus random hex)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return cls(id=f"{stamp}-{secrets.token_hex(4)}", user=user, **values)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        """A record from ``state.json`` (unknown keys from newer versions are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-able data."""
        return asdict(self)

    @property
    def finished(self) -> bool:
        """Whether the job has ended, one way or another."""
        return self.status in FINISHED


def check_job_id(job_id: str) -> str:
    """``job_id`` if it is well formed, else :class:`UnknownJobError` (never a path).

    >>> check_job_id("20260101T120000-0a1b2c3d")
    '20260101T120000-0a1b2c3d'
    >>> check_job_id("../../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wisehub.batch.errors.UnknownJobError: no batch job '../../etc': job ids look like ...
    """
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise UnknownJobError(f"no batch job {job_id!r}: job ids look like "
                              "20260101T120000-0a1b2c3d")
    return job_id


def read_record(directory: Path) -> JobRecord:
    """The record stored in a job directory."""
    return JobRecord.from_dict(json.loads((directory / "state.json").read_text()))


def write_record(directory: Path, record: JobRecord) -> None:
    """Store a record in its job directory (atomically)."""
    write_json(directory / "state.json", record.to_dict())


class UserJobs:
    """One user's job directories under ``root``, with the ownership checks."""

    def __init__(self, root: Path, user: str) -> None:
        if not USER.match(user):
            raise ValueError(f"invalid user name {user!r}")
        self.root = Path(root)
        self.user = user
        self.base = self.root / user

    def _ensure_base(self) -> Path:
        if not self.root.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            # Like /tmp without reading: every account (system-users mode) may create its
            # own directory here, none may list, rename or remove the others'.
            self.root.chmod(0o1733)
        self.base.mkdir(mode=0o700, exist_ok=True)
        self._check_owner(self.base)
        return self.base

    def _check_owner(self, path: Path) -> None:
        info = path.lstat()
        if path.is_symlink() or info.st_uid != os.geteuid():
            raise PermissionError(f"{path} does not belong to this account (uid "
                                  f"{os.geteuid()}); refusing to keep batch jobs there")
        if info.st_mode & 0o077:
            path.chmod(0o700)

    def directory(self, job_id: str) -> Path:
        """The directory of one of this user's jobs, or :class:`UnknownJobError`."""
        path = self.base / check_job_id(job_id)
        if self.base.exists():
            self._check_owner(self.base)
        if not (path / "state.json").is_file():
            raise UnknownJobError(f"no batch job {job_id} for user {self.user!r}; "
                                  "`wisehub batch list` shows your jobs")
        return path

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this user's submission lock (limits are checked and jobs created under it)."""
        base = self._ensure_base()
        with (base / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def create(self, record: JobRecord) -> JobRecord:
        """Make the job's directory and write its first state."""
        if record.user != self.user:
            raise PermissionError(f"user {self.user!r} cannot create a job for {record.user!r}")
        path = self._ensure_base() / check_job_id(record.id)
        path.mkdir(mode=0o700)
        write_record(path, record)
        return record

    def load(self, job_id: str) -> JobRecord:
        """The stored record of a job."""
        return read_record(self.directory(job_id))

    def save(self, record: JobRecord) -> None:
        """Replace a job's stored record."""
        write_record(self.directory(record.id), record)

    def ids(self) -> list[str]:
        """This user's job ids, oldest first."""
        if not self.base.is_dir():
            return []
        self._check_owner(self.base)
        return sorted(p.name for p in self.base.iterdir()
                      if JOB_ID.match(p.name) and (p / "state.json").is_file())
