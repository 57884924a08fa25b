"""The launcher's clean-up when a hub fails to start (a real JupyterHub and proxy)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import psutil
import pytest
from wisehub.hub.configuration import find_proxy
from wisehub.hub.launcher import LaunchError, run_config
from wisehub.hub.ports import Ports

pytestmark = pytest.mark.hub

CONFIG = """\
c.JupyterHub.bind_url = "http://127.0.0.1:{public}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{shared}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{shared}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"
c.JupyterHub.services = [{{"name": "launcher", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["launcher"]}}]
"""


def proxies_on(port: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "configurable-http-proxy" in cmdline and f"--api-port {port}" in cmdline:
            found.append(proc)
    return found


def test_a_hub_that_fails_to_start_leaves_no_proxy_behind(tmp_path: Path):
    # What CI once met: the proxy's API given the hub's own port. The hub starts its proxy,
    # finds its own server where the proxy's API should be, and exits; its proxy, no longer
    # its child, kept running.
    ports = Ports()
    public, shared, token = ports.take(), ports.take(), secrets.token_hex(32)
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(CONFIG.format(public=public, shared=shared, proxy=find_proxy(),
                                    state=tmp_path, token=token))
    with pytest.raises(LaunchError, match="the hub exited with code 1"):
        run_config(config, f"http://127.0.0.1:{public}/", token, timeout=60)
    assert "[ConfigProxy]" in (tmp_path / "jupyterhub.log").read_text()  # the proxy started
    deadline = time.monotonic() + 10
    while proxies_on(shared) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proxies_on(shared) == []
