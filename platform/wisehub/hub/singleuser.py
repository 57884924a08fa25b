"""A local user server: ``python -m wisehub.hub.singleuser`` (JupyterHub's single-user server).

It serves exactly as ``jupyterhub.singleuser`` does. The difference is how it ends.
Once the server has stopped, the process runs its ``atexit`` handlers, flushes its logs and
output, and exits at once.

The usual interpreter teardown is skipped. For a server with JupyterLab and its extensions
loaded, that teardown (freeing every module and object, no Python code running) costs about a
second of CPU. So with 50 servers, a hub's shutdown on two cores waited about 30 s for its
servers, and Ctrl-C of ``wisehub up`` took as long. Kernels are not affected: they notice
their server is gone and end themselves, as before.

It also gives its kernels Unix sockets instead of loopback TCP ports. The server picks a
kernel's five ports as ports free at that moment, and the kernel binds them seconds later;
on a machine where many servers start kernels at once (a class logging in, the 50-user
benchmark), another process's connection can take a port in between. The kernel then fails
to bind and hangs as it closes, and the user's code never runs (bench_hub met it: "Address
already in use", and one server's messages reaching another server's kernel). Sockets in a
directory of the server's own, made for it and only it can enter, cannot collide, and other
accounts on the machine cannot reach them. The directory is the server's Jupyter runtime
directory (``JUPYTER_RUNTIME_DIR``, its connection and server files), new in the system's
temporary directory, where a socket's path fits the 107 bytes a Unix socket allows; it is
removed when the server ends.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile


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


KERNELS_OVER_UNIX_SOCKETS = "--KernelManager.transport=ipc"
"""The option that gives the server's kernels Unix sockets; arguments after it may override
it."""


def serve() -> None:
    """Run JupyterHub's single-user server, its kernels on Unix sockets in a new runtime
    directory of its own, then end the process without teardown.

    This is the process's entry point: it sets ``JUPYTER_RUNTIME_DIR`` and puts
    :data:`KERNELS_OVER_UNIX_SOCKETS` first among the server's arguments.
    """
    from jupyterhub.singleuser import main

    runtime = tempfile.mkdtemp(prefix="wisehub-jupyter-")  # 0700, a name no one else has
    os.environ["JUPYTER_RUNTIME_DIR"] = runtime
    sys.argv[1:1] = [KERNELS_OVER_UNIX_SOCKETS]
    status = 0
    try:
        main()
    except SystemExit as stop:
        status = exit_status(stop.code)
        if stop.code is not None and not isinstance(stop.code, int):
            print(stop.code, file=sys.stderr)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


if __name__ == "__main__":
    serve()
