"""``wisehub up``: a real JupyterHub and configurable-http-proxy on this machine.

The launcher writes a ``jupyterhub_config.py`` under ``<data_dir>/hub/`` that calls
:func:`wisehub.hub.configure`, starts the hub in its own session, waits until the public URL
answers, and prints how to log in. Stopping it (Ctrl-C, SIGTERM) stops the hub, which stops
the proxy and user servers; anything left over from them (kernels, Dask workers) is then
terminated, so nothing outlives the launcher.

An admin API token for scripts (and the tests) is written to ``<data_dir>/hub/launcher-token``
(mode 0600); it belongs to the hub service ``wisehub-launcher``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests
import yaml
from pydantic import SecretStr

from wisehub.config import Settings
from wisehub.hub.configuration import PROXY_PID_FILE, hub_state_dir
from wisehub.hub.ports import free_port
from wisehub.hub.settings import load_directory
from wisehub.hub.state import HUB_UMASK, open_private_log, prepare_state_dir, write_private

LAUNCHER_SERVICE = "wisehub-launcher"
TOKEN_FILE = "launcher-token"
CONFIG_TEMPLATE = '''\
"""Written by `wisehub up`; edit the wisehub settings instead (docs/local-hub.md)."""
import os

os.umask({umask:#o})  # what the hub, its proxy and services create, only they can read
from wisehub.config import load_settings
from wisehub.hub import configure
from wisehub.hub.launcher import add_launcher_service

configure(c, load_settings({settings_file!r}))
add_launcher_service(c, {token_file!r})
'''


class LaunchError(RuntimeError):
    """The hub did not come up; the message says why and where its log is."""


@dataclass
class RunningHub:
    """A hub started by :func:`start`: its URL, admin token, log and process."""

    url: str
    token: str
    log: Path
    process: subprocess.Popen

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the hub REST API as the launcher service (admin)."""
        headers = {"Authorization": f"token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}hub/api{path}", headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)


def add_launcher_service(c: Any, token_file: str) -> None:
    """Register the launcher's admin service, whose token ``wisehub up`` wrote to a file."""
    token = Path(token_file).read_text().strip()
    c.JupyterHub.services = [*c.JupyterHub.services, {"name": LAUNCHER_SERVICE,
                                                      "api_token": token}]
    c.JupyterHub.load_roles = [*c.JupyterHub.load_roles,
                               {"name": "admin", "services": [LAUNCHER_SERVICE]}]


def start(settings: Settings, timeout: float = 90) -> RunningHub:
    """Start the hub for ``settings`` and wait until its public URL answers.

    The hub reads exactly these settings, from a 0600 file in its state directory.
    """
    settings.ensure_data_dir()
    state = prepare_state_dir(hub_state_dir(settings))
    port = settings.hub.port or free_port(settings.hub.ip)
    resolved = settings.model_copy(update={"hub": settings.hub.model_copy(update={"port": port})})
    token = secrets.token_hex(32)
    token_file, settings_file = state / TOKEN_FILE, state / "settings.yaml"
    write_private(token_file, token)
    write_private(settings_file, yaml.safe_dump(_plain(resolved.model_dump())))
    write_private(state / "jupyterhub_config.py", CONFIG_TEMPLATE.format(
        umask=HUB_UMASK, settings_file=str(settings_file), token_file=str(token_file)))
    # The hub hosts the services (wisehub.hub.app), which read the platform's settings from
    # the environment as a service process of their own would.
    return run_config(state / "jupyterhub_config.py", f"http://{settings.hub.ip}:{port}/", token,
                      timeout, app="wisehub.hub.app",
                      environment={**os.environ, **resolved.environment()})


def run_config(config: Path, url: str, token: str, timeout: float = 90, app: str = "jupyterhub",
               environment: dict[str, str] | None = None) -> RunningHub:
    """Run ``python -m <app> -f config`` (``app`` a JupyterHub application) in its own session
    (log next to the config), and wait until ``url`` answers the admin ``token``. Also used
    to run a plain JupyterHub for comparison."""
    log = config.parent / "jupyterhub.log"
    with open(open_private_log(log), "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", app, "-f", str(config)], env=environment,
            cwd=config.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_hear_sigint)
    hub = RunningHub(url, token, log, process)
    try:
        _wait_ready(hub, timeout)
    except BaseException:
        stop(hub)
        raise
    return hub


def _hear_sigint() -> None:
    """In the hub's process before it starts: SIGINT back to its default. A caller started
    under a background job (a test session in CI, say) has it ignored, and the hub, its
    services and user servers would inherit that; the hub stops each of them with SIGINT and
    waits ten seconds for any that does not hear it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _plain(value: Any) -> Any:
    """Settings as plain YAML-able data, secrets included (for the hub's 0600 settings file)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    return value


def _wait_ready(hub: RunningHub, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            raise LaunchError(f"the hub exited with code {hub.process.returncode}; "
                              f"its log ends:\n{_tail(hub.log)}")
        try:
            if hub.api("GET", "/", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # a busy hub answers late
            pass
        time.sleep(0.2)
    raise LaunchError(f"the hub did not answer at {hub.url} within {timeout:.0f} s; "
                      f"its log ends:\n{_tail(hub.log)}")


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(hub: RunningHub, grace: float = 30) -> None:
    """Stop the hub (it stops the proxy and user servers), then anything they left behind:
    its descendants, and its proxy (JupyterHub starts it in a session of its own, and a hub
    that fails to start exits without stopping it)."""
    try:
        family = psutil.Process(hub.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    family += [p for p in _proxy_of(hub) if p not in family]
    if hub.process.poll() is None:
        hub.process.terminate()
        try:
            hub.process.wait(grace)
        except subprocess.TimeoutExpired:
            hub.process.kill()
            hub.process.wait()
    _end(family)


def banner(settings: Settings, hub: RunningHub) -> str:
    """What ``wisehub up`` prints once the hub answers."""
    lines = [f"wisehub is up at {hub.url}"]
    if settings.hub.authenticator == "demo" and settings.hub.demo_password is not None:
        password = settings.hub.demo_password.get_secret_value()
        directory = load_directory(settings.hub.users_file)
        users = sorted(directory.all_users() - set(directory.admins))
        lines += [
            "  DEMO login (loopback only, not for real use):",
            f"    users {', '.join(users)}: password {password}",
        ]
        if settings.hub.demo_admin_password is not None:
            lines.append(f"    admins {', '.join(sorted(directory.admins))}: password "
                         f"{settings.hub.demo_admin_password.get_secret_value()}")
    else:
        lines.append("  sign up at the login page; an admin approves accounts at /hub/authorize")
    lines += [f"  hub log: {hub.log}", "Press Ctrl-C to stop."]
    return "\n".join(lines)


def provision_data(settings: Settings, echo: Callable[[str], None] = print) -> None:
    """Make the sample data (any existing set is reused) and check the catalogue opens on it."""
    from wisehub.catalog import catalog
    from wisehub.samples import make_samples
    from wisehub.samples.make import TRUTH_FILE

    echo(f"sample data in {settings.samples_dir} (made once, then reused)")
    if not (settings.samples_dir / TRUTH_FILE).exists():
        make_samples(settings.samples_dir, progress=True)
    entries = catalog(settings=settings).names()
    echo(f"catalogue {settings.catalog_path}: {len(entries)} entries")


def generate_demo_passwords(settings: Settings) -> None:
    """Give the demo login random passwords where none is set, independent of each other.

    >>> from wisehub.config import Settings
    >>> s = Settings(data_dir="/tmp/wh-doc")
    >>> generate_demo_passwords(s)
    >>> user, admin = (p.get_secret_value() for p in (s.hub.demo_password,
    ...                                                s.hub.demo_admin_password))
    >>> len(user) >= 12, len(admin) >= 32, user in admin
    (True, True, False)
    """
    if settings.hub.demo_password is None:
        settings.hub.demo_password = SecretStr(secrets.token_urlsafe(9))
    if settings.hub.demo_admin_password is None:
        settings.hub.demo_admin_password = SecretStr(secrets.token_urlsafe(32))


def serve(settings: Settings, echo: Callable[[str], None] = print) -> int:
    """Run the hub until Ctrl-C or SIGTERM, then stop everything. Returns the exit code."""
    if settings.hub.authenticator == "demo":
        generate_demo_passwords(settings)
    _adopt_orphans()
    # Also SIGINT: started as a background job (`wisehub up &`, CI), it inherits SIGINT
    # ignored, and Python then never raises KeyboardInterrupt on Ctrl-C or `kill -INT`.
    # Handled before the hub starts, so the hub, its services and user servers do not inherit
    # the ignored SIGINT either: the hub stops each of them with SIGINT and waits 10 s for
    # those that ignore it, one service after the other.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        hub = start(settings)
    except BaseException:
        _restore(previous)
        raise
    try:
        echo(banner(settings, hub))
        hub.process.wait()
        echo(f"the hub stopped by itself (code {hub.process.returncode}); see {hub.log}")
        return 1
    except KeyboardInterrupt:
        echo("stopping the hub, its proxy, user servers and their Dask clusters…")
        return 0
    finally:
        stop(hub)
        _end_children()
        _restore(previous)


def _restore(handlers: dict[int, Any]) -> None:
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def _adopt_orphans() -> None:
    # Kernels and Dask workers whose server died are re-parented to us instead of to init,
    # so `_end_children` still finds them (Linux; elsewhere only the hub's tree is stopped).
    if sys.platform == "linux":
        import ctypes

        PR_SET_CHILD_SUBREAPER = 36
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _proxy_of(hub: RunningHub) -> list[psutil.Process]:
    """The hub's proxy, from the pid file JupyterHub writes in its directory (where its config
    and log are), if that process is still a configurable-http-proxy."""
    try:
        proxy = psutil.Process(int((hub.log.parent / PROXY_PID_FILE).read_text()))
        return [proxy] if "configurable-http-proxy" in " ".join(proxy.cmdline()) else []
    except (OSError, ValueError, psutil.Error):
        return []


def _end_children() -> None:
    _end(psutil.Process().children(recursive=True))


def _end(procs: list[psutil.Process]) -> None:
    """Terminate ``procs``, then kill those still alive after 5 s."""
    for proc in procs:
        with suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=5)
    for proc in alive:
        with suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
