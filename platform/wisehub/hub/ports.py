"""Free loopback ports, for the hub itself and for local user servers.

LocalProcessSpawner picks a random free port at each spawn. When many users start at once,
two spawns can pick the same port: the second server then listens on another port, while the
proxy sends its user to the first user's server (seen with 50 concurrent users on plain
JupyterHub). :class:`Ports` hands out each port only once per hub.

>>> ports = Ports()
>>> ports.take() != ports.take()
True
>>> ports.claim(8000) and all(ports.take() != 8000 for _ in range(100))
True
"""

from __future__ import annotations

import socket
from collections import deque


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Ports:
    """Free loopback ports, never one of the last ``memory`` handed out."""

    def __init__(self, memory: int = 4096) -> None:
        self._recent: deque[int] = deque(maxlen=memory)

    def claim(self, port: int) -> int:
        """Record ``port``, chosen elsewhere (a configured one), so it is never handed out."""
        self._recent.append(port)
        return port

    def take(self, host: str = "127.0.0.1") -> int:
        """A port free on ``host`` and not handed out recently."""
        while (port := free_port(host)) in self._recent:
            pass
        self._recent.append(port)
        return port
