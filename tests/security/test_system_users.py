"""System-user mode: each hub user is an OS account, so homes and group workspaces are private.

Starts: its own hub (LocalProcessSpawner as root) on 127.0.0.1; creates OS accounts and
``wh-*`` groups with unique names and deletes them afterwards. Needs root, as the mode does.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from hubtools import client, run, unique
from wisehub.config import load_settings
from wisehub.hub.launcher import start, stop
from wisehub.hub.provision import workspace_group

pytestmark = pytest.mark.hub

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
def test_homes_and_workspaces_are_private_between_system_users(open_root: Path):
    member, outsider, group = unique("su"), unique("su"), unique("sug")
    settings = load_settings(data_dir=open_root / "data", hub={
        "spawner": "system-users", "homes_dir": str(open_root / "homes"),
        "workspaces_dir": str(open_root / "groups"), "notebooks": [],
        "authenticator": "native"})
    hub = start(settings)

    async def scenario() -> tuple[dict, dict]:
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
            for name in (member, outsider):
                await api.stop(name)
            return member_view, outsider_view

    try:
        member_view, outsider_view = run(scenario())
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
