"""`wisehub up` as a user runs it: a config file, a port, a data dir; culling; Ctrl-C.

Starts: its own `wisehub up` process (hub, proxy, culler with a 6 s idle timeout, share sync),
with the session's sample data linked in so nothing is regenerated.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pytest
import yaml
from hubtools import client, run, unique
from wisehub.config import Settings
from wisehub.hub.launcher import RunningHub
from wisehub.hub.ports import free_port

pytestmark = pytest.mark.hub

DASK_IN_KERNEL = """
import json, os
import wisehub as wh
dask_client = wh.cluster(1, threads_per_worker=1)
print(json.dumps(sorted(dask_client.run(os.getpid).values())))
"""


@contextmanager
def launch(data: Path, samples: Path, hub_config: dict
           ) -> Iterator[tuple[subprocess.Popen, RunningHub, list[str]]]:
    """Run `wisehub up` on ``data``; yield its process, a hub handle and the lines it printed."""
    (data / "samples").symlink_to(samples)
    config = data / "wisehub.yaml"
    config.write_text(yaml.safe_dump({"hub": {"notebooks": [], **hub_config}}))
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("wisehub")), "up", "--port", str(port),
           "--config", str(config), "--data-dir", str(data)]
    # As a shell's background job is started (and CI's): with SIGINT ignored. Ctrl-C
    # (SIGINT) must stop it all the same.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.startswith("Press Ctrl-C"):
                break
        assert proc.poll() is None, "\n".join(lines)
        token = (data / "hub" / "launcher-token").read_text()
        log = data / "hub" / "jupyterhub.log"
        yield proc, RunningHub(f"http://127.0.0.1:{port}/", token, log, proc), lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(90)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory, hub_settings: Settings
       ) -> Iterator[tuple[subprocess.Popen, RunningHub, list[str]]]:
    """`wisehub up` with an idle culler that stops servers idle for 6 s."""
    with launch(tmp_path_factory.mktemp("up-culling"), hub_settings.samples_dir,
                {"idle_timeout": 6, "cull_every": 2}) as running:
        yield running


def test_up_prints_url_and_demo_credentials(up):
    _, hub, lines = up
    text = "\n".join(lines)
    assert f"wisehub is up at {hub.url}" in text
    assert "DEMO login" in text and "pupil1" in text and "password " in text


def test_idle_culler_stops_an_idle_server(up):
    _, hub, _ = up
    user = unique("idle")

    async def scenario() -> None:
        async with client(hub) as api:
            await api.create_user(user)
            await api.spawn(user)
            started = time.monotonic()
            while time.monotonic() - started < 60:
                if not (await api.api("GET", f"/users/{user}"))["servers"]:
                    return
                await asyncio.sleep(1)
            raise AssertionError("the culler did not stop the idle server within 60 s")

    run(scenario())
    log = hub.log.read_text()
    assert f"DELETE /hub/api/users/{user}/server (idle-culler@" in log


def test_ctrl_c_stops_hub_proxy_servers_and_dask_workers(tmp_path: Path,
                                                          hub_settings: Settings):
    with launch(tmp_path, hub_settings.samples_dir, {}) as (proc, hub, _):
        _start_dask_then_ctrl_c(proc, hub)


def _start_dask_then_ctrl_c(proc: subprocess.Popen, hub: RunningHub) -> None:
    user = unique("dask")

    async def start_cluster() -> list[int]:
        async with client(hub) as api:
            await api.create_user(user)
            await api.spawn(user)
            kernel_cm = api.kernel(user)
            kernel = await kernel_cm.__aenter__()  # left running: Ctrl-C must clean it up
            return json.loads((await kernel.run(DASK_IN_KERNEL)).strip().splitlines()[-1])

    workers = run(start_cluster())
    commands = _running(psutil.Process(proc.pid).children(recursive=True))
    family = list(commands)
    names = " ".join(commands.values())
    assert "configurable-http-proxy" in names and "wisehub.hub.singleuser" in names
    assert all(psutil.pid_exists(pid) for pid in workers)
    # The hub stops user servers with SIGINT (one that ignores it costs 10 s before SIGTERM):
    # none inherited the background job's ignored SIGINT. (Kernels and Dask workers ignore it
    # by design; their servers stop them.)
    stopped_by_sigint = [p for p, command in commands.items() if any(
        word in command for word in ("wisehub.hub.app", "wisehub.hub.singleuser"))]
    assert len(stopped_by_sigint) >= 2  # the hub, a user server
    assert [p.cmdline() for p in stopped_by_sigint if _ignores_sigint(p.pid)] == []
    proc.send_signal(signal.SIGINT)
    assert proc.wait(90) == 0
    _, alive = psutil.wait_procs(family, timeout=5)
    assert alive == [], [p.cmdline() for p in alive]
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in workers)


def _running(processes: list[psutil.Process]) -> dict[psutil.Process, str]:
    """The processes still running, with their command lines: one that has just exited (a
    zombie until its parent reaps it, like a finished helper of the hub's) has none."""
    running = {}
    for process in processes:
        try:
            running[process] = " ".join(process.cmdline())
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue
    return running


def _ignores_sigint(pid: int) -> bool:
    with suppress(FileNotFoundError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False
