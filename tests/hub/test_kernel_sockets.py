"""Kernels of local user servers reach their server over Unix sockets in a directory of the
server's own, not over loopback TCP ports (wisehub.hub.singleuser): a port chosen free can be
taken before the kernel binds it when many servers start kernels at once, and the kernel then
hangs (bench_hub met it with 50 users on one machine).

Starts: the session hub (tests/hub/conftest.py), one user's server and a kernel in it.
"""

from __future__ import annotations

import json
import os

import pytest
from hubtools import client, run, unique
from wisehub.hub.launcher import RunningHub

pytestmark = pytest.mark.hub

# In the kernel: how its server connected it, and where its runtime directory is. (A kernel
# may still listen on a TCP port it binds itself, as port 0; that cannot race.)
KERNEL_CODE = """
import json, os, stat
from ipykernel.connect import get_connection_info
from jupyter_core.paths import jupyter_runtime_dir
info = get_connection_info(unpack=True)
runtime = jupyter_runtime_dir()
print(json.dumps({
    "transport": info["transport"], "ip": info["ip"], "runtime": runtime,
    "ports": [info[f"{c}_port"] for c in ("shell", "iopub", "stdin", "control", "hb")],
    "mode": stat.S_IMODE(os.stat(runtime).st_mode), "owner": os.stat(runtime).st_uid,
    "files": sorted(os.listdir(runtime))}))
"""


def test_a_kernels_channels_are_unix_sockets_in_a_directory_of_the_servers_own(
        hub: RunningHub):
    user = unique("sock")

    async def scenario() -> dict:
        async with client(hub) as api:
            await api.create_user(user)
            await api.spawn(user)
            seen = json.loads(await api.run_code(user, KERNEL_CODE))
            await api.stop(user)
            return seen

    seen = run(scenario())
    assert seen["transport"] == "ipc" and seen["ip"].startswith(seen["runtime"] + "/"), seen
    sockets = {f"{seen['ip']}-{port}" for port in seen["ports"]}  # ipc "ports" name files
    assert len(sockets) == 5 and max(map(len, sockets)) < 108, seen  # a Unix socket path's room
    assert {os.path.basename(s) for s in sockets} <= set(seen["files"]), seen
    # Only the server's account may enter (Jupyter adds the sticky bit, for tmp cleaners).
    assert seen["mode"] & 0o777 == 0o700 and seen["owner"] == os.getuid(), seen
    assert not os.path.exists(seen["runtime"]), "the server's runtime directory outlived it"
