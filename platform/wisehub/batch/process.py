"""Processes of a job: who they are (pid plus start time, so a reused pid is not mistaken for
them), whether they still run, and stopping a whole process group.

>>> import os
>>> me = identity(os.getpid())
>>> alive(me), alive({"pid": me["pid"], "started": me["started"] - 100})
(True, False)
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from typing import Any

import psutil


def identity(pid: int) -> dict[str, Any]:
    """``{"pid", "pgid", "started"}`` of a running process."""
    return {"pid": pid, "pgid": os.getpgid(pid), "started": psutil.Process(pid).create_time()}


def alive(ident: dict[str, Any]) -> bool:
    """Whether the process ``ident`` describes still runs (and is not a zombie)."""
    if not ident.get("pid"):
        return False
    try:
        proc = psutil.Process(int(ident["pid"]))
        return (abs(proc.create_time() - float(ident["started"])) < 0.05
                and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


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

