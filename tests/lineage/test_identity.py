"""Inside a user server the hub says who the user is; env vars the user can set do not.

The hub here is a real tornado server answering ``GET /hub/api/user`` the way JupyterHub
does for a server's own token (name and groups; 403 for a wrong token). It is a stand-in for
the hub's REST endpoint, not a running JupyterHub.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import tornado.web
from wisehub.config import Settings
from wisehub.lineage import Context
from wisehub.lineage.identity import IdentityError, platform_context, platform_context_from

TOKEN = "server-token-of-ada"


class UserHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        if self.request.headers.get("Authorization") != f"token {TOKEN}":
            self.set_status(403)
            self.finish({"status": 403, "message": "Forbidden"})
            return
        self.finish(json.dumps({"kind": "user", "name": "ada", "groups": ["lab", "astro101"]}))


@pytest.fixture
def hub_api() -> Iterator[str]:
    """The base API URL of a tornado server answering /hub/api/user, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        app = tornado.web.Application([(r"/hub/api/user", UserHandler)])
        server = app.listen(port, address="127.0.0.1")
        loop.call_soon(started.set)
        loop.run_forever()
        server.stop()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    yield f"http://127.0.0.1:{port}/hub/api"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_the_hub_overrides_a_spoofed_user_and_groups(hub_api, monkeypatch, tmp_path):
    monkeypatch.setenv("WISEHUB_USER", "mallory")
    monkeypatch.setenv("WISEHUB_GROUPS", "admins")
    monkeypatch.setenv("JUPYTERHUB_API_URL", hub_api)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    settings = Settings(data_dir=tmp_path)
    assert (settings.user, settings.groups) == ("mallory", ["admins"])
    context = platform_context(settings)
    assert (context.user, context.groups, context.group) == ("ada", ("astro101", "lab"),
                                                            "astro101")


def test_a_bad_token_fails_clearly_without_echoing_it(hub_api):
    env = {"JUPYTERHUB_API_URL": hub_api, "JUPYTERHUB_API_TOKEN": "stolen-guess"}
    with pytest.raises(IdentityError, match="could not ask the hub") as failure:
        platform_context_from(Context("mallory"), env)
    assert "stolen-guess" not in str(failure.value)


def test_outside_a_hub_the_local_user_is_the_identity(tmp_path, monkeypatch):
    import getpass

    for name in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER", "WISEHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    assert platform_context(Settings(data_dir=tmp_path)).user == getpass.getuser()
