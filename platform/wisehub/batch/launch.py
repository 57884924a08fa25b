"""Starting a job's supervisor so that it belongs to nobody.

A helper process in a new session starts the supervisor and exits at once, so the supervisor
is re-parented (to init or the nearest subreaper) before the submitter returns: stopping the
kernel, the user's server or the hub, which end their own descendants, does not reach it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The helper needs only the standard library: it runs isolated (-I), and fast.
_DETACH = "import subprocess, sys; subprocess.Popen(sys.argv[1:], close_fds=True)"


def start_detached(directory: Path, kill_grace: float, log: Path,
                   env: dict[str, str] | None = None) -> None:
    """Start ``python -m wisehub.batch.supervisor directory`` detached, output to ``log``."""
    command = [sys.executable, "-m", "wisehub.batch.supervisor", str(directory),
               str(kill_grace)]
    with log.open("ab") as out:
        helper = subprocess.Popen([sys.executable, "-I", "-c", _DETACH, *command],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=directory, env=dict(os.environ if env is None else env),
                                  start_new_session=True, close_fds=True)
    if helper.wait(timeout=60) != 0:
        raise RuntimeError(f"could not start the job supervisor; see {log}")
