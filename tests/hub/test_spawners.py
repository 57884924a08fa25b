"""The local spawners return from ``start()`` once the server listens, or once it has died.

Real processes on loopback: one that listens only after a while and records the connection
it accepts, one that exits without listening. The hub tests spawn real servers through these
spawners (``configure`` names them); here, what each configuration hands the spawner.
"""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config
from wisehub.config import load_settings
from wisehub.hub import configure
from wisehub.hub.configuration import SERVER_UMASK
from wisehub.hub.ports import free_port
from wisehub.hub.spawners import LocalServerSpawner, SimpleLocalServerSpawner, until_listening

LATE_LISTENER = """
import socket, sys, time
time.sleep(0.5)  # a server importing its extensions
with socket.create_server(("127.0.0.1", int(sys.argv[1]))) as server:
    connection, _ = server.accept()
    print("accepted", flush=True)
    connection.close()
"""


def test_waits_for_a_server_that_listens_late_and_is_connected_to_it():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", LATE_LISTENER, str(port)],
                              stdout=subprocess.PIPE, text=True)

    async def ended() -> int | None:
        return server.poll()

    try:
        assert asyncio.run(until_listening("127.0.0.1", port, ended)) is True
        out, _ = server.communicate(timeout=30)
    finally:
        server.kill()
    assert out.strip() == "accepted"  # the wait ended on the server's own socket
    assert server.returncode == 0


def test_returns_when_the_server_exits_without_listening():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])

    async def ended() -> int | None:
        return server.poll()

    assert asyncio.run(asyncio.wait_for(until_listening("127.0.0.1", port, ended), 60)) is False
    assert server.returncode == 3


@pytest.mark.parametrize("mode, expected", [("local", SimpleLocalServerSpawner),
                                            ("system-users", LocalServerSpawner)])
def test_local_modes_use_these_spawners_with_the_upstream_settings(
        tmp_path: Path, monkeypatch, mode: str, expected: type):
    monkeypatch.setattr("os.geteuid", lambda: 0)  # system-user mode needs a root hub
    c = Config()
    configure(c, load_settings(data_dir=tmp_path, hub={"spawner": mode,
                                                       "authenticator": "native"}))
    module, _, name = c.JupyterHub.spawner_class.rpartition(".")
    spawner_class = getattr(importlib.import_module(module), name)
    assert spawner_class is expected
    spawner = spawner_class(config=c)  # config for the upstream classes reaches ours
    assert spawner.popen_kwargs == {"umask": SERVER_UMASK}
    assert spawner.cmd == [sys.executable, "-m", "wisehub.hub.singleuser"]
