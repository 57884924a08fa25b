"""The pre-spawn hook in system-user mode, attacked by the user whose home it prepares.

The hook runs in the hub (root). A user controls their home, so they plant links there:
``~/tutorials -> /etc`` used to make the hub copy into /etc and hand the user every file
under it. And a hub user named like an existing account (``daemon``) used to adopt it.
Calls the real hook as the hub does at each spawn, with real OS accounts (root needed).
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from attack import as_user, needs_root, snapshot, unique_name
from wisehub.hub.provision import ACCOUNTS, AccountError, PreSpawn, workspace_group

pytestmark = [needs_root, pytest.mark.usefixtures("python_for_everyone")]


def spawner_for(name: str, groups: list[str]) -> SimpleNamespace:
    """What the hook reads from and writes to a spawner."""
    user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
    return SimpleNamespace(user=user, port=None, default_url="/lab")


@pytest.fixture(autouse=True)
def hub_umask() -> Iterator[None]:
    """The hook runs in the hub, under its umask 077."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def make_hook(root: Path) -> PreSpawn:
    tutorials = root / "notebooks" / "tutorials"
    tutorials.mkdir(parents=True)
    (tutorials / "01-start.ipynb").write_text('{"cells": []}')
    readable(root / "notebooks")
    state = root / "state"
    state.mkdir(mode=0o700)
    return PreSpawn(homes=root / "homes", workspaces=root / "groups", notebooks=[tutorials],
                    system_users=True, accounts=state / ACCOUNTS)


def readable(folder: Path) -> None:
    """Let every account read ``folder`` (notebooks are package data, readable by all)."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def protected_tree(root: Path, name: str) -> Path:
    """A root-owned directory standing in for /etc: files, a subdirectory and a link."""
    target = root / name
    (target / "sub").mkdir(parents=True)
    (target / "shadow").write_text("root:secret-hash\n")
    (target / "shadow").chmod(0o640)
    (target / "sub" / "passwd").write_text("root:x:0:0\n")
    (target / "link").symlink_to("/nonexistent")
    return target


@pytest.mark.parametrize("planted", ["tutorials", "shared", ".wisehub", "all"])
def test_links_planted_in_the_home_are_not_followed(open_root: Path, planted: str,
                                                     cleanup_accounts) -> None:
    name, group = unique_name("ps"), unique_name("psg")
    cleanup_accounts(name)
    cleanup_accounts(workspace_group(group))
    hook = make_hook(open_root)
    first = spawner_for(name, [group])
    hook(first)  # the first spawn: account, workspace link, tutorials
    home = Path(pwd.getpwnam(name).pw_dir)
    assert first.default_url == "/lab/tree/tutorials/01-start.ipynb"
    assert (home / "shared" / group).is_symlink()
    assert (home / "tutorials" / "01-start.ipynb").stat().st_uid == pwd.getpwnam(name).pw_uid

    targets = {link: protected_tree(open_root / "outside", link.strip("."))
               for link in ("tutorials", "examples", "shared", ".wisehub")
               if planted in (link, "all")}
    before = {t: snapshot(t) for t in targets.values()}
    plant = "; ".join(f"rm -rf ~/{link}; ln -s {target} ~/{link}"
                      for link, target in targets.items())
    planted_ok = as_user(name, f"cd && {plant}")
    assert planted_ok.returncode == 0, planted_ok.stderr
    (open_root / "notebooks" / "examples").mkdir()
    (open_root / "notebooks" / "examples" / "demo.ipynb").write_text("{}")
    readable(open_root / "notebooks")
    again = make_hook_again(hook, open_root)
    again(spawner_for(name, []))  # respawn, now out of the group (stale links are pruned)

    for target, seen in before.items():
        assert snapshot(target) == seen, f"the hook changed {target} through ~/{target.name}"
    for link in targets:
        assert (home / link).is_symlink()  # left alone, not replaced or written through


def make_hook_again(hook: PreSpawn, root: Path) -> PreSpawn:
    """The same hook, now also copying an examples folder (a link planted there too)."""
    return PreSpawn(homes=hook.homes, workspaces=hook.workspaces,
                    notebooks=[*hook.notebooks, root / "notebooks" / "examples"],
                    system_users=True, accounts=hook.accounts)


@pytest.mark.parametrize("existing", ["bin", "daemon", "postgres-like"])
def test_existing_accounts_are_not_adopted(open_root: Path, existing: str,
                                           cleanup_accounts) -> None:
    if existing == "postgres-like":  # an account made by someone else, e.g. a service
        existing = cleanup_accounts(unique_name("svc"))
        subprocess.run(["useradd", "--system", "--home-dir", str(open_root / "svc-home"),
                        "--create-home", existing], check=True)
    home = Path(pwd.getpwnam(existing).pw_dir)
    mode_before = home.stat().st_mode if home.exists() else None
    hook = make_hook(open_root)
    with pytest.raises(AccountError, match=rf"{existing}.*existing OS account.*did not create"):
        hook(spawner_for(existing, []))
    assert (home.stat().st_mode if home.exists() else None) == mode_before
    assert not hook.accounts.exists()


def test_names_outside_the_rule_are_refused_before_anything_happens(open_root: Path) -> None:
    hook = make_hook(open_root)
    for bad in ("*", "root/../x", "Bob", "a.b"):
        with pytest.raises(ValueError, match="invalid user name"):
            hook(spawner_for(bad, []))
    assert not (open_root / "homes").exists()


def test_an_account_recreated_under_a_recorded_name_is_refused(open_root: Path,
                                                               cleanup_accounts) -> None:
    name = cleanup_accounts(unique_name("re"))
    hook = make_hook(open_root)
    hook(spawner_for(name, []))
    subprocess.run(["userdel", "--remove", name], check=True)
    subprocess.run(["useradd", "--uid", str(_free_uid()), name], check=True)  # someone else's
    with pytest.raises(AccountError, match="did not create"):
        hook(spawner_for(name, []))


def _free_uid() -> int:
    used = {p.pw_uid for p in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()}
    return next(u for u in range(42000, 60000) if u not in used)


def test_workspace_dir_replaced_by_a_link_is_not_chowned(open_root: Path,
                                                         cleanup_accounts) -> None:
    name, group = unique_name("ws"), unique_name("wsg")
    cleanup_accounts(name)
    cleanup_accounts(workspace_group(group))
    hook = make_hook(open_root)
    target = protected_tree(open_root / "outside", "etc")
    before = snapshot(target)
    (open_root / "groups").mkdir()
    (open_root / "groups" / group).symlink_to(target)
    with pytest.raises(OSError):
        hook(spawner_for(name, [group]))
    assert snapshot(target) == before
    assert os.stat(target).st_gid == 0
