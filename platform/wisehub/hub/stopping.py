"""How a wisehub hub service run alone stops: at the first SIGINT or SIGTERM.

A cluster hub stops its managed services one at a time with SIGINT, then SIGTERM after ten
seconds. A hub started from a background job (``nohup jupyterhub &``, CI) passes SIGINT on
ignored, and Python's default SIGINT handling is then off; a service listening only for
``KeyboardInterrupt`` would hold the hub's shutdown for those ten seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals() -> Iterator[asyncio.Event]:
    """An event set at the first SIGINT or SIGTERM that arrives inside the block, which must
    run in the event loop (a tornado service). Enter it before the service listens: a signal
    sent once the port is open (a hub stopping a service it has just started) must not be
    lost while the service finishes starting.

    >>> import asyncio, os, signal
    >>> async def stopped() -> str:
    ...     with stop_signals() as stop:
    ...         os.kill(os.getpid(), signal.SIGTERM)  # before anything waits for it
    ...         await asyncio.sleep(0.1)
    ...         await stop.wait()
    ...     return "stopped"
    >>> asyncio.run(stopped())
    'stopped'
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield stop
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
