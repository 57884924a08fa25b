"""How every wisehub hub service stops: at the first SIGINT or SIGTERM.

JupyterHub stops its managed services one at a time with SIGINT, then SIGTERM after ten
seconds. A hub started from a background job (``nohup wisehub up &``, CI) passes SIGINT on
ignored, and Python's default SIGINT handling is then off; a service listening only for
``KeyboardInterrupt`` would hold the hub's shutdown for those ten seconds.

>>> import os, signal
>>> previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
>>> interrupt_on_stop_signals()
>>> try:
...     os.kill(os.getpid(), signal.SIGTERM)
... except KeyboardInterrupt:
...     print("stopping")
stopping
>>> for s, handler in previous.items():
...     _ = signal.signal(s, handler)
"""

from __future__ import annotations

import asyncio
import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_stop_signals() -> None:
    """Make SIGINT and SIGTERM raise ``KeyboardInterrupt`` (a service's polling loop)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)


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
