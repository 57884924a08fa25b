"""Processes of a job: who they are (pid, process group and a :class:`ProcessStamp` of its
start, so neither a reused pid nor a change of the wall clock is mistaken for them), whether
they still run, and stopping a whole process group.

>>> import os
>>> me = identity(os.getpid())
>>> alive(me), alive({**me, "since_boot": me["since_boot"] - 100})
(True, False)
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from dataclasses import asdict
from typing import Any

import psutil

from wisehub.processes import ProcessStamp


def identity(pid: int) -> dict[str, Any]:
    """``{"pid", "pgid"}`` and the :class:`ProcessStamp` fields of a running process, as kept
    in a job's record."""
    return {"pgid": os.getpgid(pid), **asdict(ProcessStamp.of(pid))}


def alive(ident: dict[str, Any]) -> bool:
    """Whether the process ``ident`` describes still runs (and is not a zombie); records
    written before stamps had ``since_boot`` are checked by their wall-clock start."""
    if not ident.get("pid"):
        return False
    return ProcessStamp(int(ident["pid"]), float(ident["started"]), ident.get("since_boot"),
                        ident.get("boot", "")).running()


def group_alive(pgid: int) -> bool:
    """Whether any process is left in process group ``pgid``."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_group(pgid: int, grace: float) -> None:
    """SIGTERM every process of group ``pgid``, then SIGKILL what is left after ``grace`` s."""
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and group_alive(pgid):
            time.sleep(0.05)
        os.killpg(pgid, signal.SIGKILL)


def stop_job(ident: dict[str, Any], grace: float) -> None:
    """Stop a runner: its process group, and any descendant that left the group (Jupyter
    starts kernels in sessions of their own), SIGKILLed after ``grace`` s."""
    family = []
    if alive(ident):
        with suppress(psutil.Error):
            family = psutil.Process(int(ident["pid"])).children(recursive=True)
    stop_group(int(ident["pgid"]), grace)
    for process in family:
        with suppress(psutil.Error):
            process.kill()

