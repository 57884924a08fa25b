"""How a wisehub hub service run alone stops: at the first SIGINT or SIGTERM.

A cluster hub stops its managed services one at a time with SIGINT, then SIGTERM after ten
seconds. A hub started from a background job (``nohup jupyterhub &``, CI) passes SIGINT on
ignored, and Python's default SIGINT handling is then off; a service listening only for
``KeyboardInterrupt`` would hold the hub's shutdown for those ten seconds.
"""

from __future__ import annotations

import asyncio
import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def until_stop_signal() -> None:
    """Wait in the running event loop until SIGINT or SIGTERM arrives (a tornado service).

    >>> import asyncio, os, signal
    >>> async def stopped() -> str:
    ...     asyncio.get_running_loop().call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)
    ...     await until_stop_signal()
    ...     return "stopped"
    >>> asyncio.run(stopped())
    'stopped'
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
