"""A real local installation: NativeAuthenticator, explicit first admin, private hub state.

Starts: its own hub (authenticator "native", default users file naming admin ``teacher``) on
127.0.0.1, with its data directory world-traversable so that a second real OS user can try
to read the hub's state. No user servers.

Attacks: sign up under the listed admin's name (used to give an approved admin); sign up as a
listed user (used to be approved at once); sign up as ``*``; read the hub database, log and
share-sync state as another OS user (they used to be 0644).
"""

from __future__ import annotations

import secrets
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from attack import as_user, needs_root, unique_name
from hubtools import can_log_in, run
from typer.testing import CliRunner
from wisehub.cli import app
from wisehub.config import load_settings
from wisehub.hub.client import HubClient, logged_in
from wisehub.hub.launcher import RunningHub, start, stop
from wisehub.hub.state import StateDirError

pytestmark = pytest.mark.hub
BOSS_PASSWORD = secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def data() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wh-native-", dir="/tmp"))
    path.chmod(0o755)  # others may traverse: only the state's own modes protect it
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def native_hub(data: Path) -> Iterator[RunningHub]:
    added = CliRunner().invoke(app, ["hub", "add-admin", "boss", "--data-dir", str(data)],
                               input=f"{BOSS_PASSWORD}\n{BOSS_PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert BOSS_PASSWORD not in added.output
    hub = start(load_settings(data_dir=data, hub={"authenticator": "native",
                                                  "share_sync_interval": 0.5}))
    try:
        yield hub
    finally:
        stop(hub)


async def sign_up(url: str, user: str, password: str) -> str:
    """Fill in the sign-up form; return the page's message."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(f"{url}hub/signup") as reply:
            reply.raise_for_status()
        xsrf = next(c.value for c in jar if c.key == "_xsrf")
        form = {"username": user, "signup_password": password,
                "signup_password_confirmation": password, "_xsrf": xsrf}
        async with browser.post(f"{url}hub/signup", data=form) as reply:
            reply.raise_for_status()
            return await reply.text()


def test_listed_names_are_invited_not_approved(native_hub: RunningHub):
    url, squatter_pw, pupil_pw = native_hub.url, secrets.token_urlsafe(12), \
        secrets.token_urlsafe(12)

    async def scenario() -> dict[str, bool]:
        await sign_up(url, "teacher", squatter_pw)  # the default file's admin
        await sign_up(url, "pupil1", pupil_pw)      # a listed pupil
        seen = {"squatter": await can_log_in(url, "teacher", squatter_pw),
                "pupil before": await can_log_in(url, "pupil1", pupil_pw)}
        async with (logged_in(url, "boss", BOSS_PASSWORD) as admin,
                    admin.get(f"{url}hub/authorize/pupil1") as reply):
            reply.raise_for_status()
        seen["pupil after"] = await can_log_in(url, "pupil1", pupil_pw)
        seen["wrong password"] = await can_log_in(url, "pupil1", "a-wrong-password")
        return seen

    assert run(scenario()) == {"squatter": False, "pupil before": False,
                               "pupil after": True, "wrong password": False}
    async def boss_is_admin() -> bool:
        async with HubClient(native_hub.url, native_hub.token) as api:
            return (await api.api("GET", "/users/boss"))["admin"]

    assert run(boss_is_admin()) is True


def test_sign_up_follows_the_name_rule(native_hub: RunningHub):
    password = secrets.token_urlsafe(12)

    async def scenario() -> list[str]:
        for bad in ("*", "Bad.Name", "x" * 40):
            await sign_up(native_hub.url, bad, password)
        async with HubClient(native_hub.url, native_hub.token) as api:
            listed = await api.api("GET", "/users")
            made = await api.api("POST", "/users/%2A", ok=(400,))
        assert "failed to create user" in str(made).lower()  # 201 before the name rule
        return [u["name"] for u in listed]

    names = run(scenario())
    assert not {"*", "Bad.Name", "x" * 40} & set(names)


@needs_root
def test_hub_state_is_private_to_the_hub_user(native_hub: RunningHub, data: Path,
                                              cleanup_accounts):
    state = data / "hub"
    deadline = time.monotonic() + 30
    while not (state / "share-sync.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    files = sorted(p.name for p in state.iterdir())
    assert {"jupyterhub.sqlite", "jupyterhub.log", "share-sync.json", "launcher-token",
            "settings.yaml", "jupyterhub_cookie_secret"} <= set(files)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    # Files 0600 and directories (the compute service's state) 0700, all the way down.
    modes = {str(p.relative_to(state)): stat.S_IMODE(p.lstat().st_mode) for p in state.rglob("*")}
    assert modes == {name: 0o700 if (state / name).is_dir() else 0o600 for name in modes}
    assert "compute" in modes
    other = cleanup_accounts(unique_name("peek"))
    subprocess.run(["useradd", other], check=True)
    for name in ("jupyterhub.sqlite", "jupyterhub.log", "share-sync.json"):
        peek = as_user(other, f"cat {state / name}")
        assert peek.returncode != 0 and "Permission denied" in peek.stderr


def test_hub_refuses_a_state_dir_others_can_read(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path, hub={"authenticator": "native"})
    state = tmp_path / "hub"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    with pytest.raises(StateDirError, match=r"hub.*mode 0755, not 0700"):
        start(settings)
    state.chmod(0o700)
    (state / "jupyterhub.sqlite").write_text("")
    (state / "jupyterhub.sqlite").chmod(0o644)
    with pytest.raises(StateDirError, match=r"jupyterhub.sqlite has mode 0644, not 0600"):
        start(settings)
