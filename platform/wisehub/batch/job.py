"""``Job`` and ``JobList``: what a user holds to follow and collect a batch job.

A ``Job`` is only a job id and a backend, so it can be made again in any later session
(``wh.batch.job(id)``) and everything is read from the job's stored state.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from wisehub.batch.local import LocalBackend
from wisehub.batch.state import (
    FINISHED,
    OUTPUT_NOTEBOOK,
    STDERR,
    JobRecord,
    parse_time,
)

COLOURS = {"queued": "#888", "running": "#1f77b4", "succeeded": "#2ca02c", "failed": "#d62728",
           "cancelled": "#7f7f7f", "timed-out": "#ff7f0e"}


class Job:
    """A batch job: ask for its status, logs and result, or cancel it."""

    def __init__(self, backend: LocalBackend, job_id: str) -> None:
        self.backend = backend
        self.id = job_id

    def __repr__(self) -> str:
        return f"Job({self.id!r}, status={self.status()!r})"

    def record(self) -> JobRecord:
        """Everything stored about the job."""
        return self.backend.record(self.id)

    def status(self) -> str:
        """queued, running, succeeded, failed, cancelled or timed-out."""
        return self.record().status

    @property
    def error(self) -> str:
        """A failed job's traceback ('' otherwise)."""
        return self.record().error

    def logs(self, lines: int = 100) -> str:
        """The tail of the job's logs, the Dask workers' included."""
        return self.backend.logs(self.id, lines)

    def result(self) -> Any:
        """A function job's return value, or the path of a notebook job's executed notebook."""
        return self.backend.result(self.id)

    def cancel(self) -> Job:
        """Stop the job (its whole process group) unless it has already finished."""
        self.backend.cancel(self.id)
        return self

    def wait(self, timeout: float | None = None, poll: float = 0.5) -> str:
        """Block until the job has finished (or ``timeout`` s passed); return its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (status := self.status()) not in FINISHED:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
        return status

    def _repr_html_(self) -> str:
        return JobList([self])._repr_html_()


def _duration(record: JobRecord) -> str:
    start, end = parse_time(record.started_at), parse_time(record.ended_at)
    if start is None:
        return ""
    return f"{((end or datetime.now(UTC)) - start).total_seconds():.1f} s"


def _link(url: str, label: str) -> str:
    return f'<a href="{html.escape(url)}" target="_blank">{label}</a>'


def _links(job: Job, record: JobRecord) -> tuple[str, str]:
    """Links to the logs and the output: through the hub's batch API under a hub (the
    browser cannot open files of the server), else to the files themselves."""
    base = os.environ.get("JUPYTERHUB_BASE_URL")
    if base:
        api = f"{base.rstrip('/')}/{job.backend.batch.service_path.strip('/')}/jobs/{record.id}"
        logs, output = f"{api}/logs", f"{api}/result"
    else:
        directory = job.backend.jobs.base / record.id
        logs, output = f"file://{directory / STDERR}", f"file://{directory / OUTPUT_NOTEBOOK}"
    shown = ""
    if record.kind == "notebook" and record.status == "succeeded":
        shown = _link(output, "notebook")
    elif record.has_result:
        shown = _link(output, "result") if base else "result()"
    return _link(logs, "logs"), shown


class JobList(Sequence[Job]):
    """A user's jobs; shown as a table in JupyterLab."""

    def __init__(self, jobs: list[Job]) -> None:
        self._jobs = jobs

    def __getitem__(self, index: Any) -> Any:
        return self._jobs[index]

    def __len__(self) -> int:
        return len(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(self._jobs)

    def __repr__(self) -> str:
        rows = [f"{r.id}  {r.status:<9}  {r.kind:<8}  {r.name or r.target}"
                for r in (j.record() for j in self._jobs)]
        return "\n".join(rows) or "(no batch jobs)"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in ("job", "name", "status", "submitted",
                                                  "duration", "message", "logs", "output"))
        rows = []
        for job in self._jobs:
            r = job.record()
            colour = COLOURS.get(r.status, "#000")
            links, output = _links(job, r)
            cells = (r.id, r.name or r.target, f'<b style="color:{colour}">{r.status}</b>',
                     r.submitted_at[:19].replace("T", " "), _duration(r),
                     r.message, links, output)
            rows.append("<tr>" + "".join(
                f"<td>{c if i in (2, 6, 7) else html.escape(str(c))}</td>"
                for i, c in enumerate(cells)) + "</tr>")
        body = "".join(rows) or '<tr><td colspan="8">no batch jobs</td></tr>'
        return f'<table class="wisehub-batch"><thead><tr>{head}</tr></thead>{body}</table>'
