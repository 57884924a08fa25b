"""Prepare a user's home before their server starts: account, group workspaces, tutorials.

* **Group workspaces**: one directory per hub group under the workspaces root, linked into each
  member's home as ``shared/<group>``; links to groups the user left are removed. With system
  users the directory belongs to the OS group ``wh-<group>`` with mode ``2770``, so non-members
  cannot list or read it; with one OS user for everyone only the links differ (see
  docs/local-hub.md, "Trust").
* **Tutorials**: the first time a home is seen, ``notebooks/tutorials`` (and ``examples``) are
  copied into it, and the server opens the first tutorial.

>>> workspace_group("lab")
'wh-lab'
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wisehub.hub.ports import Ports

MARKER = Path(".wisehub") / "provisioned"
"""Written into a home once its tutorials have been copied; delete it to get fresh copies."""


def workspace_group(group: str) -> str:
    """The OS group that owns a hub group's workspace in system-user mode."""
    return f"wh-{group}"


@dataclass(frozen=True)
class PreSpawn:
    """A ``Spawner.pre_spawn_hook`` for the local spawners (one OS user, or system users)."""

    homes: Path
    workspaces: Path
    notebooks: list[Path]
    system_users: bool = False
    ports: Ports = field(default_factory=Ports)

    def __call__(self, spawner: Any) -> None:
        spawner.port = self.ports.take()  # no two concurrent spawns get the same port
        name = spawner.user.name
        groups = sorted(g.name for g in spawner.user.groups)
        if self.system_users:
            home = ensure_system_user(name, self.homes, groups)
        else:
            home = self.homes / name
            home.mkdir(parents=True, exist_ok=True)
        owner = name if self.system_users else None
        link_workspaces(home, self.workspaces, groups, owner=owner)
        first = copy_tutorials(home, self.notebooks, owner=owner)
        if first is not None:
            spawner.default_url = f"/lab/tree/{first.as_posix()}"


def link_workspaces(home: Path, root: Path, groups: Iterable[str], owner: str | None) -> None:
    """Create each group's workspace and link it as ``home/shared/<group>``; drop stale links."""
    shared = home / "shared"
    shared.mkdir(exist_ok=True)
    groups = set(groups)
    for group in groups:
        target = root / group
        target.mkdir(parents=True, exist_ok=True)
        if owner is not None:
            os.chown(target, 0, grp.getgrnam(workspace_group(group)).gr_gid)
            target.chmod(0o2770)
        link = shared / group
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)
    for link in shared.iterdir():
        if link.is_symlink() and link.name not in groups:
            link.unlink()
    if owner is not None:
        _chown(shared, owner)


def copy_tutorials(home: Path, sources: Iterable[Path], owner: str | None) -> Path | None:
    """Copy notebook folders into a home seen for the first time.

    Returns the first tutorial notebook (relative to ``home``) to open, or None if the home was
    already provisioned or there is no notebook.
    """
    marker = home / MARKER
    if marker.exists():
        return None
    first = None
    for source in sources:
        if not source.is_dir():
            continue
        dest = home / source.name
        shutil.copytree(source, dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        if owner is not None:
            for path in [dest, *dest.rglob("*")]:
                _chown(path, owner)
        notebooks = sorted(dest.rglob("*.ipynb"))
        if first is None and notebooks:
            first = notebooks[0].relative_to(home)
    marker.parent.mkdir(exist_ok=True)
    marker.write_text("tutorials copied; delete this file to copy them again\n")
    if owner is not None:
        _chown(marker.parent, owner)
        _chown(marker, owner)
    return first


def ensure_system_user(name: str, homes: Path, groups: Iterable[str]) -> Path:
    """Create the OS account ``name`` (home ``0700``) if missing, and set its ``wh-*`` groups.

    Needs root. Returns the account's home directory.
    """
    wanted = [workspace_group(g) for g in groups]
    for group in wanted:
        try:
            grp.getgrnam(group)
        except KeyError:
            _run(["groupadd", group])
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        homes.mkdir(parents=True, exist_ok=True)
        _run(["useradd", "--create-home", "--home-dir", str(homes / name),
              "--shell", "/bin/bash", "--user-group", name])
        entry = pwd.getpwnam(name)
    others = [g.gr_name for g in grp.getgrall()
              if name in g.gr_mem and not g.gr_name.startswith("wh-")]
    _run(["usermod", "-G", ",".join([*others, *wanted]), name])
    home = Path(entry.pw_dir)
    home.chmod(0o700)
    return home


def _chown(path: Path, owner: str) -> None:
    entry = pwd.getpwnam(owner)
    os.lchown(path, entry.pw_uid, entry.pw_gid)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
