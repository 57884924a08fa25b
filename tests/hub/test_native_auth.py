"""A real local installation's login: NativeAuthenticator, sign-up with admin approval.

Starts: its own hub (authenticator "native") on 127.0.0.1; no user servers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import aiohttp
import pytest
from hubtools import run
from wisehub.config import load_settings
from wisehub.hub.client import HubError, logged_in
from wisehub.hub.launcher import RunningHub, start, stop

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def native_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    data = tmp_path_factory.mktemp("native")
    hub = start(load_settings(data_dir=data, hub={"authenticator": "native"}))
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


async def can_log_in(url: str, user: str, password: str) -> bool:
    try:
        async with logged_in(url, user, password):
            return True
    except HubError:
        return False


def test_sign_up_waits_for_admin_approval(native_hub: RunningHub):
    url, admin_pw, user_pw = native_hub.url, secrets.token_urlsafe(12), secrets.token_urlsafe(12)

    async def scenario() -> tuple[str, bool, bool]:
        await sign_up(url, "teacher", admin_pw)  # admins in the users file need no approval
        pending = await sign_up(url, "newbie", user_pw)
        before = await can_log_in(url, "newbie", user_pw)
        async with (logged_in(url, "teacher", admin_pw) as admin,
                    admin.get(f"{url}hub/authorize/newbie") as reply):
            reply.raise_for_status()
        return pending, before, await can_log_in(url, "newbie", user_pw)

    pending, before, after = run(scenario())
    assert "sent to the admin" in pending
    assert before is False and after is True
    assert run(can_log_in(url, "newbie", "a-wrong-password")) is False
