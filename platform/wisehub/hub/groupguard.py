"""The group-guard hub service (system-user mode): leaving a group ends access to its workspace.

A user's ``wh-<group>`` OS groups are set when their server starts, and a running process
keeps its groups. So when a user leaves a hub group, every round (``--interval`` seconds)
this service, running as root like the hub:

1. stops the user's server through the hub API, then kills any process of theirs that still
   holds the group (a detached Dask worker, a ``nohup`` job);
2. clears the setgid (and setuid) bit of every file carrying that group, not owned by root,
   in the user's home, the workspaces and the shared temporary directories. A setgid copy
   of a shell made while a member therefore gives nothing afterwards. (Mounting homes, the
   workspaces and ``/tmp`` ``nosuid`` closes the remaining places; see docs/security.md.)
3. removes the account from the OS group ``wh-<group>`` (so no new process gets it; its
   next server gets its groups from the hub anyway).

Only accounts the hub created (``--accounts``, see :mod:`wisehub.hub.provision`) are touched.
The local hub hosts it in its own process (:class:`GroupGuard`); it also runs alone, as
``python …/wisehub/hub/groupguard.py --interval 5 --accounts FILE --workspaces DIR``.

>>> removals({"lab": {"ann"}}, {"wh-lab": ["ann", "bob"], "wh-x": ["cy"], "sudo": ["ann"]},
...          managed={"ann", "bob", "cy"})
[('bob', 'lab'), ('cy', 'x')]
"""

from __future__ import annotations

import argparse
import asyncio
import grp
import json
import logging
import os
import pwd
import signal
import stat
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

import requests

from wisehub.hub.hosted import PollingService, ServiceIdentity, serve_alone

NAME = "wisehub-group-guard"
log = logging.getLogger("wisehub.group-guard")
PAGINATED = {"Accept": "application/jupyterhub-pagination+json"}
PREFIX = "wh-"
SHARED_TEMP = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


def removals(hub_groups: Mapping[str, set[str]], os_groups: Mapping[str, Iterable[str]],
             managed: set[str]) -> list[tuple[str, str]]:
    """``(user, group)`` pairs in an OS ``wh-`` group but no longer in the hub group."""
    found = []
    for os_group, members in sorted(os_groups.items()):
        if not os_group.startswith(PREFIX):
            continue
        group = os_group[len(PREFIX):]
        for user in sorted(members):
            if user in managed and user not in hub_groups.get(group, set()):
                found.append((user, group))
    return found


def hub_groups(session: requests.Session, api_url: str) -> dict[str, set[str]]:
    """Every hub group and its members."""
    groups: dict[str, set[str]] = {}
    offset = 0
    while True:
        reply = session.get(f"{api_url}/groups", params={"offset": offset},
                            headers=PAGINATED, timeout=30)
        reply.raise_for_status()
        body = reply.json()
        groups.update({g["name"]: set(g["users"]) for g in body["items"]})
        following = body["_pagination"]["next"]
        if not following:
            return groups
        offset = following["offset"]


def processes_holding(uid: int, gid: int) -> Iterator[int]:
    """Pids of ``uid``'s processes that have ``gid`` (real, effective or supplementary)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uids = {int(u) for u in fields.get("Uid", "").split()}
        gids = {int(g) for g in fields.get("Gid", "").split()}
        groups = {int(g) for g in fields.get("Groups", "").split()}
        if uid in uids and gid in gids | groups:
            yield int(entry.name)


def clear_setid_bits(roots: Iterable[Path], gid: int) -> list[Path]:
    """Clear setgid/setuid on files with group ``gid`` under ``roots`` not owned by root.

    Links are never followed, and each file is changed through a descriptor opened without
    following links, so swapping a file for a link during the walk changes nothing else.
    """
    cleared = []
    for root in roots:
        for folder, _dirs, files in os.walk(root, followlinks=False):
            for name in files:
                path = Path(folder, name)
                if _clear(path, gid):
                    cleared.append(path)
    return cleared


def _clear(path: Path, gid: int) -> bool:
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or not info.st_mode & (stat.S_ISGID | stat.S_ISUID):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if (not stat.S_ISREG(info.st_mode) or info.st_uid == 0 or info.st_gid != gid
                or not info.st_mode & (stat.S_ISGID | stat.S_ISUID)):
            return False
        os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~(stat.S_ISGID | stat.S_ISUID))
        return True
    finally:
        os.close(fd)


class Guard:
    """One hub's guard: its API session, the accounts record and the workspaces root."""

    def __init__(self, api_url: str, token: str, accounts: Path, workspaces: Path) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        self.accounts, self.workspaces = accounts, workspaces

    def round(self) -> list[tuple[str, str]]:
        """Find users who left a group and end their access; returns who and which group."""
        managed = set(json.loads(self.accounts.read_text())) if self.accounts.exists() else set()
        os_groups = {g.gr_name: list(g.gr_mem) for g in grp.getgrall()}
        found = removals(hub_groups(self.session, self.api_url), os_groups, managed)
        for user, group in found:
            self.end_access(user, group)
        return found

    def end_access(self, user: str, group: str) -> None:
        """Take ``group``'s workspace away from ``user`` now (see the module's steps)."""
        os_group = PREFIX + group
        gid, entry = grp.getgrnam(os_group).gr_gid, pwd.getpwnam(user)
        reply = self.session.delete(f"{self.api_url}/users/{quote(user)}/server", timeout=60)
        if reply.status_code not in (202, 204, 400, 404):
            reply.raise_for_status()
        self._wait_for_stop(user)
        for pid in processes_holding(entry.pw_uid, gid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        cleared = clear_setid_bits([Path(entry.pw_dir), self.workspaces, *SHARED_TEMP], gid)
        # Last, so that a failure above is retried next round (the user is still listed).
        subprocess.run(["gpasswd", "--delete", user, os_group], capture_output=True,
                       check=True)
        log.info("%s left %s: removed from %s, server stopped, %d setgid files cleared",
                 user, group, os_group, len(cleared))

    def _wait_for_stop(self, user: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self.session.get(f"{self.api_url}/users/{quote(user)}", timeout=30)
            if reply.status_code == 404 or not reply.json().get("servers"):
                return
            time.sleep(0.5)


class GroupGuard(PollingService):
    """The service: a :meth:`Guard.round` every ``interval`` seconds, in a thread (it calls
    the hub, ``gpasswd`` and walks directories)."""

    def __init__(self, identity: ServiceIdentity, interval: float, accounts: Path,
                 workspaces: Path) -> None:
        super().__init__(identity, interval)
        self.guard = Guard(identity.hub_api_url, identity.token, accounts, workspaces)

    async def round(self) -> None:
        await asyncio.to_thread(self.guard.round)


def main(argv: list[str] | None = None) -> None:
    """Run the service until the hub stops it (SIGINT or SIGTERM)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    parser.add_argument("--accounts", type=Path, required=True, help="accounts the hub made")
    parser.add_argument("--workspaces", type=Path, required=True, help="workspaces root")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(asctime)s] %(message)s")
    service = GroupGuard(ServiceIdentity.from_environment(NAME), args.interval,
                         args.accounts, args.workspaces)
    asyncio.run(serve_alone(service))


if __name__ == "__main__":
    main()
