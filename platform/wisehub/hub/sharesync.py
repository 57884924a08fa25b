"""The share-sync hub service: expand group shares into per-member user shares.

Upstream JupyterHub stores a share made to a *group* but answers its members with 403. This
service polls the hub, grants each member of the group a user share with the group share's
scopes, and revokes the shares it granted once the group share is gone or the member has left
the group. Shares a user made directly are never touched. Only groups the owner belongs to are
expanded: a user shares with *their* groups.

A local hub hosts it in its own process (:class:`ShareSync`); a cluster hub runs it as
``python …/wisehub/hub/sharesync.py --interval 5 --state share-sync.json``, which imports only
the standard library and requests, so it stays small.

>>> shares = [GroupShare("ann", "", "lab", ("access:servers!server=ann/",))]
>>> grant, revoke = plan(shares, {"lab": {"ann", "bob"}}, existing=set(), expanded=set())
>>> sorted(grant), revoke
([Grant(owner='ann', server='', user='bob')], set())
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from wisehub.hub.hosted import PollingService, ServiceIdentity, serve_alone

NAME = "wisehub-share-sync"
log = logging.getLogger("wisehub.share-sync")
PAGINATED = {"Accept": "application/jupyterhub-pagination+json"}


@dataclass(frozen=True, order=True)
class Grant:
    """User ``user`` may use ``owner``'s server ``server`` ("" is the default server)."""

    owner: str
    server: str
    user: str


@dataclass(frozen=True)
class GroupShare:
    """A share of ``owner``'s server with ``group``, as the hub stores it."""

    owner: str
    server: str
    group: str
    scopes: tuple[str, ...]


def plan(
    shares: list[GroupShare],
    members: dict[str, set[str]],
    existing: set[Grant],
    expanded: set[Grant],
) -> tuple[dict[Grant, tuple[str, ...]], set[Grant]]:
    """What to grant (with scopes) and what to revoke, given the hub's state.

    ``existing`` holds every user share now on the hub; ``expanded`` the ones this service made.
    """
    wanted: dict[Grant, tuple[str, ...]] = {}
    for share in shares:
        group = members.get(share.group, set())
        if share.owner not in group:
            log.warning("ignoring %s's share with %s: not their group", share.owner, share.group)
            continue
        for user in sorted(group - {share.owner}):
            wanted.setdefault(Grant(share.owner, share.server, user), share.scopes)
    grant = {g: scopes for g, scopes in wanted.items() if g not in existing}
    revoke = {g for g in expanded if g not in wanted and g in existing}
    return grant, revoke


class Hub:
    """The few hub REST calls the service needs, with its own token."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def _paged(self, path: str) -> Iterator[dict]:
        offset = 0
        while True:
            reply = self.session.get(f"{self.api_url}{path}", params={"offset": offset},
                                     headers=PAGINATED, timeout=30)
            if reply.status_code == 404:  # the user or group was deleted meanwhile
                return
            reply.raise_for_status()
            body = reply.json()
            yield from body["items"]
            following = body["_pagination"]["next"]
            if not following:
                return
            offset = following["offset"]

    def members(self) -> dict[str, set[str]]:
        """Every group and its members."""
        return {g["name"]: set(g["users"]) for g in self._paged("/groups")}

    def group_shares(self, group: str) -> list[GroupShare]:
        """The shares made to ``group``."""
        return [
            GroupShare(s["server"]["user"]["name"], s["server"]["name"], group,
                       tuple(s["scopes"]))
            for s in self._paged(f"/groups/{quote(group)}/shared")
        ]

    def user_shares(self, owner: str) -> set[Grant]:
        """The user shares of all of ``owner``'s servers."""
        return {
            Grant(owner, s["server"]["name"], s["user"]["name"])
            for s in self._paged(f"/shares/{quote(owner)}")
            if s["kind"] == "user"
        }

    def grant(self, grant: Grant, scopes: tuple[str, ...]) -> None:
        """Share ``grant.owner``'s server with ``grant.user``."""
        self.session.post(
            f"{self.api_url}/shares/{quote(grant.owner)}/{quote(grant.server)}",
            json={"user": grant.user, "scopes": list(scopes)}, timeout=30,
        ).raise_for_status()

    def revoke(self, grant: Grant) -> None:
        """Remove ``grant.user``'s share of ``grant.owner``'s server (gone already is fine)."""
        reply = self.session.delete(
            f"{self.api_url}/users/{quote(grant.user)}/shared/"
            f"{quote(grant.owner)}/{quote(grant.server)}", timeout=30)
        if reply.status_code != 404:
            reply.raise_for_status()


class Ledger:
    """The grants this service made, saved to a ``0600`` file before each grant is made.

    Recorded first, granted second: a grant the hub holds is always in the ledger, so a
    crash or a failed request never leaves a grant that no later round would revoke.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.grants = ({Grant(*g) for g in json.loads(path.read_text())} if path.exists()
                       else set())

    def save(self) -> None:
        """Write the ledger atomically, readable only by the service's user."""
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(sorted([g.owner, g.server, g.user] for g in self.grants)))
        tmp.replace(self.path)


def sync_once(hub: Hub, state: Path) -> tuple[int, int]:
    """One round: read the hub, grant and revoke. Returns (granted, revoked).

    Every revocation is attempted even if grants (or other revocations) fail; the first
    failure is raised at the end of the round, and the next round retries what is left.
    """
    ledger = Ledger(state)
    members = hub.members()
    shares = [s for group in members for s in hub.group_shares(group)]
    owners = {s.owner for s in shares} | {g.owner for g in ledger.grants}
    existing = set().union(*(hub.user_shares(o) for o in owners)) if owners else set()
    grant, revoke = plan(shares, members, existing, ledger.grants)
    ledger.grants &= existing | set(grant)  # forget grants that are gone from the hub
    failures: list[requests.RequestException] = []
    granted = revoked = 0
    for g in revoke:
        try:
            hub.revoke(g)
        except requests.RequestException as err:
            failures.append(err)
            continue
        ledger.grants.discard(g)
        revoked += 1
    for g, scopes in grant.items():
        ledger.grants.add(g)
        ledger.save()
        try:
            hub.grant(g, scopes)
        except requests.RequestException as err:
            failures.append(err)
            continue
        granted += 1
    ledger.save()
    if granted or revoked:
        log.info("granted %d and revoked %d member shares", granted, revoked)
    if failures:
        raise failures[0]
    return granted, revoked


class ShareSync(PollingService):
    """The service: a :func:`sync_once` round every ``interval`` seconds, in a thread (its
    hub calls block), recording its grants in the ledger file ``state``."""

    def __init__(self, identity: ServiceIdentity, interval: float, state: Path) -> None:
        super().__init__(identity, interval)
        self.hub = Hub(identity.hub_api_url, identity.token)
        self.state = state

    async def run(self) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True)
        await super().run()

    async def round(self) -> None:
        await asyncio.to_thread(sync_once, self.hub, self.state)


def main(argv: list[str] | None = None) -> None:
    """Run the service until the hub stops it (SIGINT or SIGTERM)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    parser.add_argument("--state", type=Path, required=True, help="JSON file of our grants")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(asctime)s] %(message)s")
    service = ShareSync(ServiceIdentity.from_environment(NAME), args.interval, args.state)
    asyncio.run(serve_alone(service))


if __name__ == "__main__":
    main()
