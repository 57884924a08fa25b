"""Sharing a server with a group: the share-sync service's plan, and the real thing on a hub.

Starts: the session hub (tests/hub/conftest.py); its share-sync service runs every second.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hubtools import client, run, unique
from wisehub.hub.client import HubClient
from wisehub.hub.launcher import RunningHub
from wisehub.hub.sharesync import Grant, GroupShare, plan

SCOPES = ("access:servers!server=ann/",)
SHARE_FROM_NOTEBOOK = """
import os, requests
api, me = os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_USER"]
reply = requests.post(f"{{api}}/shares/{{me}}/", json={{"group": "{group}"}},
                      headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}})
print(reply.status_code)
"""


def test_plan_grants_members_but_not_the_owner():
    grant, revoke = plan([GroupShare("ann", "", "lab", SCOPES)], {"lab": {"ann", "bob", "cy"}},
                         existing=set(), expanded=set())
    assert grant == {Grant("ann", "", "bob"): SCOPES, Grant("ann", "", "cy"): SCOPES}
    assert revoke == set()


def test_plan_revokes_only_its_own_grants_when_a_member_leaves():
    ours, direct = Grant("ann", "", "bob"), Grant("ann", "", "dan")
    grant, revoke = plan([GroupShare("ann", "", "lab", SCOPES)], {"lab": {"ann"}},
                         existing={ours, direct}, expanded={ours})
    assert grant == {} and revoke == {ours}


def test_plan_ignores_shares_with_groups_the_owner_is_not_in():
    grant, revoke = plan([GroupShare("ann", "", "lab", SCOPES)], {"lab": {"bob"}},
                         existing=set(), expanded=set())
    assert grant == {} and revoke == set()


def test_plan_keeps_a_direct_share_that_a_group_share_also_covers():
    direct = Grant("ann", "", "bob")
    grant, revoke = plan([], {"lab": {"ann", "bob"}}, existing={direct}, expanded=set())
    assert grant == {} and revoke == set()


async def _status_with_fresh_token(api: HubClient, user: str, owner: str) -> int:
    """What ``user`` gets from ``owner``'s server with a token made just now (no cache)."""
    token = await api.token_for(user)
    reply = await api.request("GET", f"user/{owner}/api/status", token=token,
                              ok=(200, 403, 404))
    return 200 if reply is not None and "started" in reply else 403


async def _wait_for(api: HubClient, user: str, owner: str, status: int, timeout: float = 30
                    ) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await _status_with_fresh_token(api, user, owner) == status:
            return time.monotonic() - start
        await asyncio.sleep(0.3)
    raise AssertionError(f"{user} did not get {status} from {owner}'s server in {timeout} s")


@pytest.mark.hub
def test_group_share_reaches_members_and_is_revoked(hub: RunningHub):
    owner, member, other_member, outsider = (unique(p) for p in ("own", "mem", "mem2", "out"))
    group = unique("crew")

    async def scenario() -> None:
        async with client(hub) as api:
            for name in (owner, member, other_member, outsider):
                await api.create_user(name)
            await api.create_group(group, [owner, member, other_member])
            await api.spawn(owner)
            # The server's own token cannot share (whoever the server is shared with can read
            # it and would re-share onward); the owner shares with their own token.
            refused = await api.run_code(owner, SHARE_FROM_NOTEBOOK.format(group=group))
            assert refused.strip() == "403", refused
            await api.api("POST", f"/shares/{owner}/", {"group": group},
                          token=await api.token_for(owner))
            await _wait_for(api, member, owner, 200)
            await _wait_for(api, other_member, owner, 200)
            assert await _status_with_fresh_token(api, outsider, owner) == 403
            # Leaving the group revokes access...
            await api.api("DELETE", f"/groups/{group}/users", {"users": [member]})
            await _wait_for(api, member, owner, 403)
            assert await _status_with_fresh_token(api, other_member, owner) == 200
            # ...and so does removing the group share.
            await api.api("PATCH", f"/shares/{owner}/", {"group": group},
                          token=await api.token_for(owner))
            await _wait_for(api, other_member, owner, 403)
            await api.stop(owner)

    run(scenario())
