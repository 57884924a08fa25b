"""Prepare a user's home before their server starts: account, group workspaces, tutorials.

* **Accounts** (system-user mode): each hub user runs as the OS account of the same name. The
  hub manages only accounts it created itself: each ``useradd`` is recorded (name and uid) in
  ``system-users.json`` in the hub's private state directory, and a hub user whose name is an
  existing account not in that record (``bin``, ``daemon``, ``postgres``, a colleague's
  login) is refused with :class:`AccountError`. Names follow :mod:`wisehub.names`.
* **Group workspaces**: one directory per hub group under the workspaces root, linked into each
  member's home as ``shared/<group>``; links to groups the user left are removed. With system
  users the directory belongs to the OS group ``wh-<group>`` with mode ``2770``, so non-members
  cannot list or read it; with one OS user for everyone only the links differ (see
  docs/local-hub.md, "Trust").
* **Tutorials**: the first time a home is seen, ``notebooks/tutorials`` (and ``examples``) are
  copied into it, and the server opens the first tutorial.
* **Credentials**: with ``settings`` given, the user's own database role and RGW key
  (:func:`wisehub.hub.credentials.user_credentials`) go into this server's environment only,
  and the role's groups and the bucket policy follow the hub's groups at every spawn.

Nothing runs as root inside a home: the workspace links and tutorials are made by
:mod:`wisehub.hub.homeprep` running as the home's owner. Root only creates the account, its
groups and the workspace directories (outside every home), and never through a link.

>>> workspace_group("lab")
'wh-lab'
"""

from __future__ import annotations

import grp
import json
import logging
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wisehub import names
from wisehub.config import Settings
from wisehub.hub import homeprep
from wisehub.hub.credentials import (
    hub_members,
    user_credentials,
    uses_database_roles,
    uses_rgw_keys,
)
from wisehub.hub.ports import Ports
from wisehub.hub.state import write_private
from wisehub.storage.policy import Membership

log = logging.getLogger("wisehub.provision")
ACCOUNTS = "system-users.json"
"""In the hub's state directory: the OS accounts the hub created, ``{name: uid}``."""


class AccountError(RuntimeError):
    """A hub user cannot be given an OS account; the message says why and what to do."""


def workspace_group(group: str) -> str:
    """The OS group that owns a hub group's workspace in system-user mode."""
    return f"wh-{group}"


@dataclass(frozen=True)
class PreSpawn:
    """A ``Spawner.pre_spawn_hook`` for the local spawners (one OS user, or system users).

    ``accounts`` is the record of OS accounts the hub created (system-user mode only).
    ``settings`` (the hub's) turns on per-user credentials for PostgreSQL and S3.
    """

    homes: Path
    workspaces: Path
    notebooks: list[Path]
    system_users: bool = False
    accounts: Path | None = None
    ports: Ports = field(default_factory=Ports)
    settings: Settings | None = None

    def __call__(self, spawner: Any) -> None:
        spawner.port = self.ports.take()  # no two concurrent spawns get the same port
        name = names.check(spawner.user.name)
        groups = valid_groups(g.name for g in spawner.user.groups)
        links = {g: self.workspaces / g for g in groups}
        if self.system_users:
            if self.accounts is None:
                raise AccountError("system-user mode needs the record of accounts it created")
            entry = ensure_system_user(name, self.homes, groups, self.accounts)
            for group, target in links.items():
                ensure_workspace(target, grp.getgrnam(workspace_group(group)).gr_gid)
            done = prepare_home_as(entry, links, self.notebooks)
        else:
            home = self.homes / name
            home.mkdir(parents=True, exist_ok=True)
            for target in links.values():
                target.mkdir(parents=True, exist_ok=True)
            done = homeprep.prepare(home, links, self.notebooks)
        for warning in done.warnings:
            log.warning("preparing %s's home: %s", name, warning)
        if done.first is not None:
            spawner.default_url = f"/lab/tree/{done.first}"
        if self.settings is not None and (uses_database_roles(self.settings)
                                          or uses_rgw_keys(self.settings)):
            members = hub_members(spawner.user.db)
            members[name] = Membership(groups=tuple(groups))  # as this spawn sees them
            # A new dict: the configured one is shared by every spawner.
            spawner.environment = {**spawner.environment,
                                   **user_credentials(self.settings, name, members)}


def valid_groups(groups: Iterable[str]) -> list[str]:
    """The group names that follow the name rule, sorted; others are logged and left out.

    >>> valid_groups(["lab", "*", "astro101"])
    ['astro101', 'lab']
    """
    valid = []
    for group in sorted(groups):
        if names.is_valid(group):
            valid.append(group)
        else:
            log.warning("ignoring hub group %r: not a valid name (%s)", group, names.RULE)
    return valid


def ensure_traversable(path: Path) -> None:
    """Create ``path`` (and parents) mode ``0755`` if missing, whatever the umask.

    The hub runs under umask ``077``; the roots of homes and workspaces must still let
    every account reach its own home and the workspaces of its groups.
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        folder.chmod(0o755)


def ensure_workspace(path: Path, gid: int) -> None:
    """Create a group workspace owned by ``root:gid`` with mode ``2770``, never via a link."""
    ensure_traversable(path.parent)
    if not os.path.lexists(path):
        path.mkdir()
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchown(fd, 0, gid)
        os.fchmod(fd, 0o2770)
    finally:
        os.close(fd)


def prepare_home_as(entry: pwd.struct_passwd, links: dict[str, Path], sources: list[Path]
                    ) -> homeprep.Prepared:
    """Run :mod:`wisehub.hub.homeprep` as the account ``entry`` (uid, gid, no other groups)."""
    job = json.dumps({"home": entry.pw_dir, "links": {g: str(t) for g, t in links.items()},
                      "sources": [str(s) for s in sources]})
    done = subprocess.run(
        [sys.executable, "-I", str(Path(homeprep.__file__)), job],
        user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], umask=0o022,
        cwd=entry.pw_dir, env={"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir},
        capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise AccountError(f"preparing {entry.pw_name}'s home {entry.pw_dir} failed: "
                           f"{done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return homeprep.Prepared(**json.loads(done.stdout))


def managed_accounts(record: Path) -> dict[str, int]:
    """The accounts the hub created, ``{name: uid}`` (empty before the first)."""
    return json.loads(record.read_text()) if record.exists() else {}


def ensure_system_user(name: str, homes: Path, groups: Iterable[str], record: Path
                       ) -> pwd.struct_passwd:
    """Create the OS account ``name`` (home ``0700``) if missing, and set its ``wh-*`` groups.

    Needs root. An existing account is used only if this hub created it (it is in ``record``
    with the same uid); any other is refused. Returns the account's passwd entry.
    """
    names.check(name)
    managed = managed_accounts(record)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is not None and managed.get(name) != entry.pw_uid:
        raise AccountError(
            f"hub user {name!r} has the name of an existing OS account (uid {entry.pw_uid}) "
            "that wisehub did not create; system-user mode manages only accounts it created "
            f"(recorded in {record}), so this user cannot get a server. Rename the hub user, "
            "or remove the OS account if it is unused")
    wanted = [workspace_group(g) for g in groups]
    for group in wanted:
        try:
            grp.getgrnam(group)
        except KeyError:
            _run(["groupadd", group])
    if entry is None:
        ensure_traversable(homes)
        _run(["useradd", "--create-home", "--home-dir", str(homes / name),
              "--shell", "/bin/bash", "--user-group", name])
        entry = pwd.getpwnam(name)
        write_private(record, json.dumps({**managed, name: entry.pw_uid}))
    others = [g.gr_name for g in grp.getgrall()
              if name in g.gr_mem and not g.gr_name.startswith("wh-")]
    _run(["usermod", "-G", ",".join([*others, *wanted]), name])
    _make_private_home(entry)
    return entry


def _make_private_home(entry: pwd.struct_passwd) -> None:
    fd = os.open(entry.pw_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if info.st_uid != entry.pw_uid:
            raise AccountError(f"{entry.pw_dir} belongs to uid {info.st_uid}, not to "
                               f"{entry.pw_name}; refusing to use it as their home")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
