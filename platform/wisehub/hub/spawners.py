"""The local spawners: JupyterHub's own, returning from ``start()`` once the server listens.

After ``start()`` JupyterHub polls the new server's URL with a randomised exponential
backoff (sleeps drawn up to 0.2, 0.4, 0.8, 1.6, 3.2 s, ...). A server that takes 2.5 s to
start is noticed anywhere from at once to 1.6 s later: on this kind of machine that made a
spawn-to-ready 2.7 to 5.4 s for identical spawns, up to half of it waiting for the next poll.
These spawners watch the server's port themselves, every :data:`POLL_SECONDS`, and return
as soon as it accepts a connection (or the process has ended), so the hub's first poll
finds the server up. A refused connection to loopback costs microseconds, not a request.

>>> issubclass(SimpleLocalServerSpawner, SimpleLocalProcessSpawner)
True
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner

POLL_SECONDS = 0.05
"""How often a starting server's port is tried."""


async def until_listening(ip: str, port: int, ended: Callable[[], Awaitable[object]],
                          poll_seconds: float = POLL_SECONDS) -> bool:
    """Wait until ``ip:port`` accepts a TCP connection: True, or False once ``ended()``
    returns something other than None (the server's process has exited).

    The caller's own timeout (the hub's ``Spawner.start_timeout``) bounds the wait.

    >>> import asyncio
    >>> async def exited():
    ...     return 1
    >>> asyncio.run(until_listening("127.0.0.1", 9, exited))  # nothing listens on port 9
    False
    """
    while True:
        try:
            _, writer = await asyncio.open_connection(ip, port)
        except OSError:
            if await ended() is not None:
                return False
            await asyncio.sleep(poll_seconds)
        else:
            writer.close()
            await writer.wait_closed()
            return True


class _ReturnsWhenListening:
    """``start()`` of a local spawner, returning once its server listens."""

    async def start(self) -> tuple[str, int]:
        ip, port = await super().start()  # type: ignore[misc]
        await until_listening(ip, port, self.poll)  # type: ignore[attr-defined]
        return ip, port


class LocalServerSpawner(_ReturnsWhenListening, LocalProcessSpawner):
    """:class:`~jupyterhub.spawner.LocalProcessSpawner` whose ``start()`` returns once the
    server listens (system-user mode)."""


class SimpleLocalServerSpawner(_ReturnsWhenListening, SimpleLocalProcessSpawner):
    """:class:`~jupyterhub.spawner.SimpleLocalProcessSpawner` whose ``start()`` returns once
    the server listens (one OS user for everyone)."""
