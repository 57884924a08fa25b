"""A local user server: ``python -m wisehub.hub.singleuser`` (JupyterHub's single-user server).

It serves exactly as ``jupyterhub.singleuser`` does. The difference is how it ends.
Once the server has stopped, the process runs its ``atexit`` handlers, flushes its logs and
output, and exits at once.

The usual interpreter teardown is skipped. For a server with JupyterLab and its extensions
loaded, that teardown (freeing every module and object, no Python code running) costs about a
second of CPU. So with 50 servers, a hub's shutdown on two cores waited about 30 s for its
servers, and Ctrl-C of ``wisehub up`` took as long. Kernels are not affected: they notice
their server is gone and end themselves, as before.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys


def exit_status(code: object) -> int:
    """The process exit status for a :class:`SystemExit` code, as Python itself maps it.

    >>> exit_status(None), exit_status(0), exit_status(3), exit_status("bad option")
    (0, 0, 3, 1)
    """
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def serve() -> None:
    """Run JupyterHub's single-user server, then end the process without teardown."""
    from jupyterhub.singleuser import main

    status = 0
    try:
        main()
    except SystemExit as stop:
        status = exit_status(stop.code)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


if __name__ == "__main__":
    serve()
