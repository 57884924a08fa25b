"""Hub benchmark: wisehub's hub against plain JupyterHub with the same spawner, same run.

1. spawn-to-ready: POST a user's server until the hub reports it ready (median of repeats);
2. login-to-first-kernel-result: the login form, spawn, a new kernel, `print(1 + 1)`;
3. N simulated users (default 50) doing 2. concurrently, on a fresh hub each repeat, the two
   hubs in turn (which goes first alternates) and never both running: errors (all repeats),
   the medians over repeats of the p50/p95 of the per-user time and of the peak RSS of the
   hub, the proxy and the hub services (not the user servers), and how often the client
   connected a broken kernel websocket again (``HubClient.reconnects``);
4. stop time: what ``wisehub up`` does on Ctrl-C (:func:`wisehub.hub.launcher.stop`: the hub
   stops its services, proxy and servers, then leftovers are ended) until no process of the
   hub's tree is left, with no user servers (every repeat, a fresh hub) and with the N users'
   servers still running after each repeat of 3 (medians). Goal: ≤ 1.5× plain JupyterHub's.

Both hubs use a shared-password login and JupyterHub's SimpleLocalProcessSpawner; wisehub's
subclass (``wisehub.hub.spawners``) returns from ``start()`` once the server listens, where the
plain hub finds it up at its next randomised backoff poll. The plain hub has no
profiles, workspaces, tutorials, culler or share sync, and its kernels use loopback TCP ports
(Jupyter's default; wisehub's use Unix sockets, see ``wisehub.hub.singleuser``). wisehub's
hub hosts its services (idle culler, share sync, compute, publishing) in its own process
(``wisehub.hub.app``), so its RSS figure counts them inside the hub's.
Goals: ratios ≤ 1.1 (times), ≤ 1.2 (RSS).

    python benchmarks/bench_hub.py [--users 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

import psutil
from wisehub.config import load_settings
from wisehub.hub.client import HubClient, logged_in
from wisehub.hub.configuration import find_proxy
from wisehub.hub.launcher import RunningHub, run_config, start, stop
from wisehub.hub.ports import free_port

PASSWORD = "bench-password"
TIMEOUT = 600
RECONNECTS: Counter[str] = Counter()  # per hub URL: kernel websockets connected again
PLAIN_CONFIG = """\
import sys
c.JupyterHub.bind_url = "{url}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{state}/homes/{{username}}"
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.args = {args!r}
c.Spawner.start_timeout = c.Spawner.http_timeout = {timeout}
c.JupyterHub.services = [{{"name": "bench", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["bench"]}}]
"""


def start_plain(state: Path) -> RunningHub:
    """A plain JupyterHub with the same spawner and login as ours, on free loopback ports."""
    state.mkdir(parents=True)
    url, token = f"http://127.0.0.1:{free_port()}/", secrets.token_hex(32)
    config = state / "jupyterhub_config.py"
    config.write_text(PLAIN_CONFIG.format(
        url=url, hub_port=free_port(), api_port=free_port(), proxy=find_proxy(), state=state,
        password=PASSWORD, token=token, timeout=TIMEOUT,
        args=["--allow-root"] if os.geteuid() == 0 else []))
    return run_config(config, url, token)


def start_wisehub(data: Path) -> RunningHub:
    """Our hub, configured by wisehub.hub.configure, with the default services and profiles."""
    return start(load_settings(data_dir=data, hub={"demo_password": PASSWORD,
                                                   "start_timeout": TIMEOUT}))


async def spawn_to_ready(hub: RunningHub, user: str) -> float:
    async with HubClient(hub.url, hub.token) as api:
        await api.create_user(user)
        t0 = time.perf_counter()
        await api.spawn(user, timeout=TIMEOUT)
        elapsed = time.perf_counter() - t0
        await api.stop(user)
        return elapsed


async def login_to_result(hub: RunningHub, user: str, stop_after: bool = True) -> float:
    """Log in through the form, spawn, run `print(1 + 1)` in a new kernel; seconds taken."""
    async with HubClient(hub.url, hub.token) as api:
        await api.create_user(user)
        t0 = time.perf_counter()
        async with logged_in(hub.url, user, PASSWORD):
            pass
        await api.spawn(user, timeout=TIMEOUT)
        try:
            output = await api.run_code(user, "print(1 + 1)", timeout=TIMEOUT)
        finally:  # a run that failed after reconnecting counts its reconnects too
            RECONNECTS[hub.url] += api.reconnects
        elapsed = time.perf_counter() - t0
        if output.strip() != "2":
            raise RuntimeError(f"{user}'s kernel printed {output!r}")
        if stop_after:
            await api.stop(user, timeout=TIMEOUT)
        return elapsed


class PeakRSS:
    """Samples the RSS of the hub, its proxy and services (not user servers) in a thread."""

    def __init__(self, hub: RunningHub) -> None:
        self.root = psutil.Process(hub.process.pid)
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _infrastructure(self) -> list[psutil.Process]:
        procs = [self.root]
        for child in self.root.children():
            with suppress(psutil.NoSuchProcess):
                if ".singleuser" not in " ".join(child.cmdline()):  # either hub's servers
                    procs.append(child)
        return procs

    def _sample(self) -> None:
        while not self._done.wait(0.5):
            total = 0
            for proc in self._infrastructure():
                with suppress(psutil.NoSuchProcess):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


async def crowd(hub: RunningHub, prefix: str, users: int) -> tuple[list[float], int, int]:
    """``users`` users log in, spawn and run a cell at once: (times, errors, peak RSS).
    Their servers are left running, for the stop-time measurement."""
    names = [f"{prefix}{i:03d}" for i in range(users)]
    with PeakRSS(hub) as rss:
        results = await asyncio.gather(*(login_to_result(hub, n, stop_after=False)
                                         for n in names), return_exceptions=True)
    times = [r for r in results if isinstance(r, float)]
    for error in [r for r in results if not isinstance(r, float)][:3]:
        print(f"  error: {error!r}", file=sys.stderr)
    return times, users - len(times), rss.peak


def crowd_summary(runs: list[tuple[list[float], int, int]]) -> tuple[int, float, float, float]:
    """Repeats of :func:`crowd` as (errors in all, median p50, median p95, median peak RSS);
    a repeat in which no user succeeded counts its errors only."""
    timed = [times for times, _, _ in runs if times]

    def middle(q: int) -> float:
        return statistics.median(pct(t, q) for t in timed) if timed else float("nan")

    return (sum(errors for _, errors, _ in runs), middle(50), middle(95),
            statistics.median(peak for _, _, peak in runs))


def timed_stop(hub: RunningHub) -> float:
    """Seconds from the stop request until no process of the hub's tree is left."""
    family = [psutil.Process(hub.process.pid), *psutil.Process(hub.process.pid).children(
        recursive=True)]
    t0 = time.perf_counter()
    stop(hub)
    psutil.wait_procs(family, timeout=TIMEOUT)
    return time.perf_counter() - t0


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the single-user runs")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-hub-")  # kept, with the hubs' logs, if a user failed
    starts = {"plain": start_plain, "wisehub": start_wisehub}  # references first
    idle_stop: dict[str, list[float]] = {k: [] for k in starts}
    for i in range(args.repeats):
        progress(f"stop with no user servers, repeat {i + 1} of {args.repeats}")
        for name, begin in starts.items():
            idle_stop[name].append(timed_stop(begin(Path(tmp, f"idle-{name}-{i}"))))
    plain, ours = start_plain(Path(tmp, "plain")), start_wisehub(Path(tmp, "wisehub"))
    try:
        hubs = {"plain": plain, "wisehub": ours}
        spawn = {k: [] for k in hubs}
        first = {k: [] for k in hubs}
        for i in range(args.repeats):  # alternate, so drift in machine load hits both
            progress(f"single-user runs, repeat {i + 1} of {args.repeats}")
            for name, hub in hubs.items():
                spawn[name].append(asyncio.run(spawn_to_ready(hub, f"spawn{i}")))
                first[name].append(asyncio.run(login_to_result(hub, f"first{i}")))
    finally:
        stop(plain)
        stop(ours)
    crowds: dict[str, list[tuple[list[float], int, int]]] = {k: [] for k in starts}
    urls = {name: [hub.url] for name, hub in hubs.items()}  # every hub of each kind
    busy_stop: dict[str, list[float]] = {k: [] for k in starts}
    for i in range(args.repeats):
        for name in list(starts)[::1 if i % 2 == 0 else -1]:
            progress(f"{args.users} concurrent users on {name}, repeat {i + 1} of {args.repeats}")
            hub = starts[name](Path(tmp, f"crowd-{name}-{i}"))
            urls[name].append(hub.url)
            try:
                crowds[name].append(asyncio.run(crowd(hub, "crowd", args.users)))
            finally:
                progress(f"stopping {name} with {args.users} user servers running")
                busy_stop[name].append(timed_stop(hub))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"hub benchmark on {os.cpu_count()} CPUs ({args.repeats} repeats, {args.users} users),"
          f" load average {load}")
    w, p = statistics.median(idle_stop["wisehub"]), statistics.median(idle_stop["plain"])
    print(f"{'stop, no user servers':30s} wisehub {w:6.2f} s   plain JupyterHub {p:6.2f} s   "
          f"ratio {w / p:.2f} (goal ≤ 1.5)")
    w, p = statistics.median(busy_stop["wisehub"]), statistics.median(busy_stop["plain"])
    print(f"{f'stop, {args.users} user servers':30s} wisehub {w:6.2f} s   plain JupyterHub "
          f"{p:6.2f} s   ratio {w / p:.2f} (goal ≤ 1.5)")
    for label, data, goal in (("spawn-to-ready", spawn, 1.1),
                              ("login-to-first-kernel-result", first, 1.1)):
        w, p = statistics.median(data["wisehub"]), statistics.median(data["plain"])
        print(f"{label:30s} wisehub {w:6.2f} s   plain JupyterHub {p:6.2f} s   "
              f"ratio {w / p:.2f} (goal ≤ {goal})")
    summary = {name: crowd_summary(runs) for name, runs in crowds.items()}
    for name in ("wisehub", "plain"):
        errors, p50, p95, peak = summary[name]
        print(f"{args.users} users, {name:8s} errors {errors}  p50 {p50:6.1f} s  "
              f"p95 {p95:6.1f} s  peak RSS (hub+proxy+services) {peak / 2**20:6.0f} MiB  "
              f"kernel websocket reconnects {sum(RECONNECTS[u] for u in urls[name])}")
    (_, _, w95, w_peak), (_, _, p95, p_peak) = summary["wisehub"], summary["plain"]
    print(f"peak RSS ratio wisehub/plain {w_peak / p_peak:.2f} (goal ≤ 1.2)")
    print(f"p95 ratio wisehub/plain {w95 / p95:.2f} (goal ≤ 1.1)")
    if summary["wisehub"][0] or summary["plain"][0]:
        print(f"the hubs' logs of this run are kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
