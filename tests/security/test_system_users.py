"""System-user mode: each hub user is an OS account, so homes and group workspaces are private,
and a user removed from a group loses its workspace at once (server stopped, setgid copies and
detached jobs made while a member give nothing).

Starts: its own hub (LocalProcessSpawner as root) on 127.0.0.1; creates OS accounts and
``wh-*`` groups with unique names and deletes them afterwards. Needs root, as the mode does.
"""

from __future__ import annotations

import asyncio
import grp
import json
import os
import stat
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from attack import as_user
from hubtools import client, run, unique
from wisehub.config import load_settings
from wisehub.hub.launcher import start, stop
from wisehub.hub.provision import workspace_group

pytestmark = pytest.mark.hub

# Made while a member: a setgid copy of `id` with the workspace's group, and a detached job.
KEEP_THE_GROUP = """
import grp, os, shutil, subprocess
shutil.copy("/usr/bin/id", "gid-keeper")
os.chown("gid-keeper", -1, grp.getgrnam({os_group!r}).gr_gid)
os.chmod("gid-keeper", 0o2755)
job = subprocess.Popen(["sleep", "600"], start_new_session=True)
print(job.pid)
"""

PROBE = """
import json, os
def attempt(action):
    try:
        action()
        return "allowed"
    except PermissionError:
        return "denied"
other_home, workspace = {other_home!r}, {workspace!r}
print(json.dumps({{
    "uid": os.getuid(),
    "read_home": attempt(lambda: os.listdir(other_home)),
    "read_secret": attempt(lambda: open(other_home + "/secret.txt").read()),
    "list_workspace": attempt(lambda: os.listdir(workspace)),
}}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="system-user spawning needs root (CI runs as root)")
@pytest.mark.usefixtures("python_for_everyone")
def test_homes_and_workspaces_are_private_and_leaving_a_group_ends_access(open_root: Path):
    member, outsider, group = unique("su"), unique("su"), unique("sug")
    settings = load_settings(data_dir=open_root / "data", hub={
        "spawner": "system-users", "homes_dir": str(open_root / "homes"),
        "workspaces_dir": str(open_root / "groups"), "notebooks": [],
        "authenticator": "native"})
    hub = start(settings)

    async def scenario() -> tuple[dict, dict, int]:
        async with client(hub) as api:
            for name in (member, outsider):
                await api.create_user(name)
            await api.create_group(group, [member])
            await api.spawn(member)
            await api.spawn(outsider)
            await api.run_code(member, "open('secret.txt', 'w').write('mine');"
                                       f"open('shared/{group}/plan.txt', 'w').write('ours')")
            member_view = json.loads(await api.run_code(member, PROBE.format(
                other_home=str(open_root / "homes" / outsider),
                workspace=str(open_root / "groups" / group))))
            outsider_view = json.loads(await api.run_code(outsider, PROBE.format(
                other_home=str(open_root / "homes" / member),
                workspace=str(open_root / "groups" / group))))
            await api.stop(outsider)
            # The member prepares to keep the group, then is removed from it.
            job = int(await api.run_code(member, KEEP_THE_GROUP.format(
                os_group=workspace_group(group))))
            await api.api("DELETE", f"/groups/{group}/users", {"users": [member]})
            await _wait_until_stopped(api, member)
            await _wait_until_out_of(workspace_group(group), member)
            return member_view, outsider_view, job

    try:
        member_view, outsider_view, job = run(scenario())
        keeper = open_root / "homes" / member / "gid-keeper"
        keeper_mode = keeper.stat().st_mode
        keeper_groups = as_user(member, f"{keeper} -G").stdout.split()
        after = as_user(member, f"ls {open_root / 'groups' / group}")
        gid = grp.getgrnam(workspace_group(group)).gr_gid
        os_members = grp.getgrnam(workspace_group(group)).gr_mem
    finally:
        stop(hub)
        for name in (member, outsider):
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        subprocess.run(["groupdel", workspace_group(group)], capture_output=True, check=False)
    assert 0 != member_view["uid"] != outsider_view["uid"] != 0
    assert outsider_view == {**outsider_view, "read_home": "denied", "read_secret": "denied",
                             "list_workspace": "denied"}
    assert member_view["list_workspace"] == "allowed"
    assert member_view["read_home"] == "denied"
    assert (open_root / "groups" / group / "plan.txt").read_text() == "ours"
    # Leaving the group: server stopped (waited for above), detached job killed, the setgid
    # copy gives nothing, no OS membership, the workspace is closed.
    assert not psutil.pid_exists(job) or psutil.Process(job).status() == psutil.STATUS_ZOMBIE
    assert not keeper_mode & stat.S_ISGID
    assert str(gid) not in keeper_groups
    assert after.returncode != 0 and "Permission denied" in after.stderr
    assert member not in os_members


async def _wait_until_out_of(os_group: str, name: str, timeout: float = 60) -> None:
    """The guard removes the OS membership last, after its other steps."""
    deadline = time.monotonic() + timeout
    while name in grp.getgrnam(os_group).gr_mem:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} is still in {os_group} {timeout} s after leaving")
        await asyncio.sleep(0.5)


async def _wait_until_stopped(api, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (await api.api("GET", f"/users/{name}"))["servers"]:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{name}'s server still runs {timeout} s after leaving the group")
