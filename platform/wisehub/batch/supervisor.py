"""The job supervisor: ``python -m wisehub.batch.supervisor <job directory>``.

Started detached (see :mod:`wisehub.batch.launch`), so it belongs to no kernel, user server
or hub. It starts the runner in a process group of its own, and is the only writer of the
job's state from then on: running, then succeeded or failed (from the runner's exit and
outcome), timed-out (past the wall time it stops the runner's group), or cancelled (on
SIGTERM, which :meth:`Job.cancel` sends). Whatever the end, nothing of the group survives it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wisehub.batch.process import identity, stop_group, stop_job
from wisehub.batch.state import (
    CANCELLED,
    CLUSTER,
    FAILED,
    OUTCOME,
    RUNNING,
    STDERR,
    STDOUT,
    SUCCEEDED,
    TIMED_OUT,
    JobRecord,
    now,
    read_record,
    write_record,
)

POLL_S = 0.1


class _Cancel:
    requested = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = True


def log(message: str) -> None:
    """A line in the supervisor's log (its stdout is ``supervisor.log``)."""
    print(f"{now()} {message}", flush=True)


def _start_runner(directory: Path, record: JobRecord) -> subprocess.Popen:
    with (directory / STDOUT).open("ab") as out, (directory / STDERR).open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "wisehub.batch.runner", str(directory)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                cwd=record.cwd or directory, process_group=0)


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _last_error(text: str) -> str:
    """The exception line of a traceback (the last unindented ``Name: message`` line)."""
    lines = [ln for ln in text.splitlines() if ln[:1].isalpha() and ":" in ln
             and not ln.startswith("Traceback")]
    return lines[-1] if lines else ""


def _finish(directory: Path, record: JobRecord, code: int | None) -> None:
    outcome_file = directory / OUTCOME
    outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else {}
    record.exit_code = code
    if code == 0 and "error" not in outcome:
        record.status = SUCCEEDED
        record.products = outcome.get("products", [])
        record.has_result = bool(outcome.get("has_result"))
        record.message = f"finished; {len(record.products)} product(s) registered"
    else:
        record.status = FAILED
        record.error = outcome.get("error") or _tail(directory / STDERR)
        record.message = f"failed: {_last_error(record.error) or f'exit code {code}'}"


def _release(directory: Path) -> None:
    """End the job's compute-service cluster, whatever ended the job."""
    if (directory / CLUSTER).exists():
        from wisehub.batch.cluster import release_cluster  # imports distributed: only here

        try:
            stopped = release_cluster(directory)
        except Exception as err:  # the service's idle timeout still ends it
            log(f"could not end the job's cluster: {err!r}")
        else:
            log("ended the job's cluster" if stopped else "the job's cluster had ended")


def supervise(directory: Path, kill_grace: float) -> JobRecord:
    """Run the job in ``directory`` to its end and return its final record."""
    cancel = _Cancel()
    signal.signal(signal.SIGTERM, cancel)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    record = read_record(directory)
    record.supervisor = identity(os.getpid())
    record.started_at = now()
    write_record(directory, record)
    runner = _start_runner(directory, record)
    record.runner = identity(runner.pid)
    record.status = RUNNING
    write_record(directory, record)
    log(f"job {record.id} running: runner pid {runner.pid}, wall time {record.wall_time:g} s")
    deadline = time.monotonic() + record.wall_time
    code = None
    while code is None and not cancel.requested and time.monotonic() < deadline:
        try:
            code = runner.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            code = None
    if code is None:
        stop_job(record.runner, kill_grace)
        runner.wait()
        if cancel.requested:
            record.status, record.message = CANCELLED, "cancelled by its owner"
        else:
            record.status = TIMED_OUT
            record.message = (f"stopped after its wall time of {record.wall_time:g} s "
                              "(limit wall_time)")
        record.exit_code = runner.returncode
    else:
        _finish(directory, record, code)
    stop_group(runner.pid, 1.0)  # workers or kernels the runner left behind
    _release(directory)
    record.ended_at = now()
    write_record(directory, record)
    log(f"job {record.id} {record.status}: {record.message}")
    return record


def main(argv: list[str]) -> int:
    """Entry point: ``<job directory> [kill grace seconds]``."""
    directory = Path(argv[0])
    grace = float(argv[1]) if len(argv) > 1 else 10.0
    try:
        supervise(directory, grace)
    except BaseException as err:
        log(f"supervisor failed: {err!r}")
        _release(directory)
        record = read_record(directory)
        if not record.finished:
            record.status, record.message, record.ended_at = FAILED, f"supervisor: {err}", now()
            write_record(directory, record)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
