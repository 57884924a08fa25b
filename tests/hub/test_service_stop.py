"""Every wisehub hub service run alone (as a cluster hub runs them) ends on the first SIGINT
or SIGTERM, even when it was started with SIGINT ignored (as everything under a shell's
background job is, CI included). A hub stops its managed services one at a time, SIGINT
first and SIGTERM only ten seconds later, so a service deaf to that SIGINT holds every hub
shutdown for ten seconds. A local hub hosts the same services in its own process.

Starts: each service as its own process, pointed at a hub API on a closed port (the polling
services keep retrying, the web services listen), then stops it. No hub is needed for this.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from wisehub.hub.ports import Ports


def _polling(module: str, *args: str) -> Callable[[Path, int], tuple[list[str], str]]:
    def command(tmp: Path, port: int) -> tuple[list[str], str]:
        return [sys.executable, "-m", module, "--interval=0.2", *args], "retrying"
    return command


def _web(module: str) -> Callable[[Path, int], tuple[list[str], str]]:
    def command(tmp: Path, port: int) -> tuple[list[str], str]:
        return [sys.executable, "-m", module], ""
    return command


SERVICES = {
    "share-sync": _polling("wisehub.hub.sharesync", "--state=share-sync.json"),
    "group-guard": _polling("wisehub.hub.groupguard", "--accounts=accounts.json",
                            "--workspaces=workspaces"),
    "compute": _web("wisehub.compute.service"),
    "publish": _web("wisehub.publish.service"),
}


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("service", SERVICES)
def test_service_stops_on_the_first_signal(tmp_path: Path, service: str, signum: int) -> None:
    ports = Ports()  # two probes in a row may give the same port: the service's and the hub's
    port = ports.take()
    env = {**os.environ, "JUPYTERHUB_API_URL": f"http://127.0.0.1:{ports.take()}/hub/api",
           "JUPYTERHUB_API_TOKEN": "unused", "JUPYTERHUB_CLIENT_ID": f"service-{service}",
           "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
           "JUPYTERHUB_SERVICE_PREFIX": f"/services/{service}/",
           "WISEHUB_DATA_DIR": str(tmp_path / "data"),
           "WISEHUB_COMPUTE_STATE": str(tmp_path / "compute"),
           "WISEHUB_LINEAGE_DB_URL": f"sqlite:///{tmp_path / 'lineage.db'}"}
    (tmp_path / "workspaces").mkdir()
    command, running = SERVICES[service](tmp_path, port)
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        if running:  # a polling service: it failed to reach the hub and retries
            for line in proc.stdout:
                if running in line:
                    break
        else:  # a web service: it listens
            deadline = time.monotonic() + 120
            while not _listening(port):
                assert proc.poll() is None and time.monotonic() < deadline, \
                    proc.communicate()[0]
                time.sleep(0.1)
        proc.send_signal(signum)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "Traceback" not in output


SIGNALLED_WHILE_STARTING = """
import asyncio, logging, os, signal, sys
from wisehub.hub.hosted import HostedService, ServiceIdentity, serve_alone

class SignalledWhileStarting(HostedService):
    identity = ServiceIdentity.new("late", "http://127.0.0.1:1",
                                   hub_api_url="http://127.0.0.1:1/hub/api")

    async def listen(self):  # the port is open: the hub may stop the service from now on
        os.kill(os.getpid(), getattr(signal, sys.argv[1]))
        await asyncio.sleep(0.2)

logging.basicConfig(level=logging.INFO)
asyncio.run(serve_alone(SignalledWhileStarting()))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_sent_while_a_service_starts_stops_it_once_started(signum: int) -> None:
    """The race CI met: the compute service listened, the test sent SIGINT at once, and the
    service, whose handlers came only after it started, never heard it (SIGINT ignored)."""
    proc = subprocess.run([sys.executable, "-c", SIGNALLED_WHILE_STARTING, signum.name],
                          capture_output=True, text=True, timeout=30,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.returncode == 0, proc.stderr
    assert "late running" in proc.stderr and "late stopped" in proc.stderr


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` has SIGINT ignored (``SigIgn`` in /proc/<pid>/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("SigIgn:")), 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def test_the_hub_hosts_its_services_and_hears_sigint_whoever_started_it(hub) -> None:
    """The session's hub was started by this test process, which under a background job
    (CI) has SIGINT ignored itself; the hub and its proxy hear it all the same. Its services
    are no processes of their own: the hub answers for each of them, under its own name."""
    import psutil

    hub_process = psutil.Process(hub.process.pid)
    children = {}
    for child in hub_process.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            command = " ".join(child.cmdline())
            if "wisehub.hub.singleuser" not in command:  # user servers ignore SIGINT by design
                children[command] = child.pid
    assert [c for c in children if "configurable-http-proxy" not in c] == []
    for name, pid in {"wisehub.hub.app": hub_process.pid, **children}.items():
        assert not _ignores_sigint(pid), name
    for service in ("compute", "publish"):  # the hub proxies them to its own process
        reply = requests.get(f"{hub.url}services/{service}/no-such-page", timeout=30)
        assert reply.status_code == 404, (service, reply.status_code)
    log = hub.log.read_text()
    for name in ("idle-culler", "wisehub-share-sync", "compute", "publish"):
        assert f"Starting hosted service {name}" in log
