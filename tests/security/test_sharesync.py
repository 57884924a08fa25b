"""Share-sync under failure: a member who leaves loses access, even after a failed round.

The hub here is a stand-in (an in-memory ``Hub`` whose grant to one user fails with HTTP 500,
as a hub under load or a user deleted mid-round does); the real hub round trip is in
tests/hub/test_sharing.py. The service's own round (``sync_once``) is the real one.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests
from wisehub.hub.sharesync import Grant, GroupShare, Hub, sync_once

SCOPES = ("access:servers!server=ann/",)


class StandInHub(Hub):
    """The hub's share state in memory; a grant to anyone in ``failing`` raises HTTP 500."""

    def __init__(self, groups: dict[str, set[str]], failing: set[str]) -> None:
        self.groups, self.failing = groups, failing
        self.shares: set[Grant] = set()
        self.group_share = GroupShare("ann", "", "lab", SCOPES)

    def members(self) -> dict[str, set[str]]:
        return {g: set(m) for g, m in self.groups.items()}

    def group_shares(self, group: str) -> list[GroupShare]:
        return [self.group_share] if group == "lab" else []

    def user_shares(self, owner: str) -> set[Grant]:
        return {g for g in self.shares if g.owner == owner}

    def grant(self, grant: Grant, scopes: tuple[str, ...]) -> None:
        if grant.user in self.failing:
            raise requests.HTTPError("500 Server Error")
        self.shares.add(grant)

    def revoke(self, grant: Grant) -> None:
        self.shares.discard(grant)


def test_a_member_who_leaves_is_revoked_after_a_failed_round(tmp_path: Path) -> None:
    hub = StandInHub({"lab": {"ann", "bob", "cy"}}, failing={"cy"})
    state = tmp_path / "share-sync.json"
    with pytest.raises(requests.HTTPError):  # round 1: bob granted, cy's grant fails
        sync_once(hub, state)
    assert hub.shares == {Grant("ann", "", "bob")}
    assert stat.S_IMODE(state.stat().st_mode) == 0o600

    hub.groups["lab"].discard("bob")  # bob leaves; cy's grant keeps failing
    with pytest.raises(requests.HTTPError):
        sync_once(hub, state)
    assert Grant("ann", "", "bob") not in hub.shares, "bob kept access after leaving"

    hub.failing.clear()  # the hub recovers: cy gets access, nothing else changes
    assert sync_once(hub, state) == (1, 0)
    assert hub.shares == {Grant("ann", "", "cy")}


def test_a_grant_is_recorded_before_it_is_made(tmp_path: Path) -> None:
    state = tmp_path / "share-sync.json"

    class CrashAfterGrant(StandInHub):
        def grant(self, grant: Grant, scopes: tuple[str, ...]) -> None:
            super().grant(grant, scopes)
            raise KeyboardInterrupt  # the service stopped right after the hub granted

    hub = CrashAfterGrant({"lab": {"ann", "bob"}}, failing=set())
    with pytest.raises(KeyboardInterrupt):
        sync_once(hub, state)
    restarted = StandInHub(hub.groups, failing=set())  # the service starts again
    restarted.shares = hub.shares
    restarted.groups["lab"].discard("bob")
    assert sync_once(restarted, state) == (0, 1)
    assert restarted.shares == set()
