"""A real hub (JupyterHub + configurable-http-proxy + single-user servers) driven over REST.

Starts: the session hub (tests/hub/conftest.py) on 127.0.0.1 ports chosen free.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlparse

import numpy as np
import pytest
import requests
import xarray as xr
from hubtools import client, first_tutorial, run, unique
from wisehub.config import Settings
from wisehub.hub.client import logged_in
from wisehub.hub.launcher import RunningHub

pytestmark = pytest.mark.hub

KERNEL_CODE = """
import json, os
import wisehub as wh
raw = wh.catalog()["whcam.raw"].read()
bias = raw["data"].where(raw["IMAGETYP"] == "BIAS", drop=True).astype("float32")
dask_client = wh.cluster(1, threads_per_worker=1)
print(json.dumps({"bias_mean": float(bias.mean().compute()), "frames": bias.sizes["frame"],
                  "link": dask_client.dashboard_link,
                  "workers": len(dask_client.scheduler_info()["workers"]),
                  "env": {k: v for k, v in os.environ.items() if k.startswith("WISEHUB_")}}))
"""


def test_rest_user_group_spawn_and_dask_in_kernel(hub: RunningHub, hub_settings: Settings):
    user, group = unique("ann"), unique("survey")

    async def scenario() -> tuple[dict, int, str]:
        async with client(hub) as api:
            await api.create_user(user)
            await api.create_group(group, [user])
            await api.spawn(user)
            async with api.kernel(user) as kernel:
                result = json.loads((await kernel.run(KERNEL_CODE)).strip().splitlines()[-1])
                # The dashboard link goes through the hub and jupyter-server-proxy.
                # The cluster comes from the compute service, which shows it to its owner.
                dash = requests.get(hub.url.rstrip("/") + result["link"], timeout=30, headers={
                    "Authorization": f"token {await api.token_for(user)}"})
            await api.stop(user)
            return result, dash.status_code, dash.text

    result, dash_status, dash_page = run(scenario())
    raw = xr.open_zarr(hub_settings.samples_dir / "raw.zarr")
    bias = raw["data"].values[raw["IMAGETYP"].values == "BIAS"].astype(np.float32)
    assert result["frames"] == bias.shape[0] > 0 and result["workers"] == 1
    assert result["bias_mean"] == pytest.approx(float(bias.mean()), rel=1e-5)
    assert result["link"].startswith("/services/compute/clusters/")
    assert result["link"].endswith("/status")
    assert dash_status == 200 and "Dask" in dash_page
    env = result["env"]
    assert env["WISEHUB_GROUPS"] == group
    assert env["WISEHUB_DATA_DIR"] == str(hub_settings.data_dir)
    assert env["WISEHUB_LINEAGE_DB_URL"] == hub_settings.lineage_db_url
    assert env["WISEHUB_PROFILE"] == "small" and env["WISEHUB_DASK_WORKERS"] == "1"


def test_tutorials_are_copied_and_open_on_first_login_only(hub: RunningHub,
                                                           hub_settings: Settings):
    user = unique("pupil")
    home = hub_settings.data_dir / "homes" / user

    def landing() -> str:
        reply = requests.get(f"{hub.url}user/{user}/", allow_redirects=False, timeout=30,
                             headers={"Authorization": f"token {hub.token}"})
        assert reply.status_code in (301, 302), reply.status_code
        return urlparse(reply.headers["Location"]).path

    async def spawn_and_look() -> str:
        async with client(hub) as api:
            await api.create_user(user)
            await api.spawn(user)
            where = landing()
            await api.stop(user)
            return where

    tutorial = first_tutorial(hub_settings)
    first = run(spawn_and_look())
    assert (home / tutorial).is_file()
    assert first == f"/user/{user}/lab/tree/{tutorial.as_posix()}"
    (home / tutorial).write_text("{}")  # the pupil's own edits
    second = run(spawn_and_look())
    assert second == f"/user/{user}/lab"
    assert (home / tutorial).read_text() == "{}"


def test_group_workspace_member_writes_other_member_reads_outsider_has_none(
        hub: RunningHub, hub_settings: Settings):
    group = unique("team")
    writer, reader, outsider = unique("w"), unique("r"), unique("o")
    homes = hub_settings.data_dir / "homes"

    async def scenario() -> str:
        async with client(hub) as api:
            for name in (writer, reader, outsider):
                await api.create_user(name)
            await api.create_group(group, [writer, reader])
            # Homes (and their shared/ links) are prepared when a server starts.
            await asyncio.gather(*(api.spawn(n) for n in (writer, reader, outsider)))
            listing = await api.run_code(
                writer, f"open('shared/{group}/notes.txt', 'w').write('hi');"
                        "import os; print(sorted(os.listdir('shared')))")
            await asyncio.gather(*(api.stop(n) for n in (writer, reader, outsider)))
            return listing

    listing = run(scenario())
    assert listing.strip() == repr([group])
    assert (homes / reader / "shared" / group / "notes.txt").read_text() == "hi"
    assert (hub_settings.data_dir / "groups" / group / "notes.txt").read_text() == "hi"
    assert not (homes / outsider / "shared" / group).exists()
    assert group not in {p.name for p in (homes / outsider / "shared").iterdir()}


def test_restricted_profile_offered_to_members_and_refused_to_others(hub: RunningHub,
                                                                    hub_settings: Settings):
    member, outsider = unique("lab"), unique("pub")

    async def scenario() -> tuple[str, str]:
        async with client(hub) as api:
            for name in (member, outsider):
                await api.create_user(name)
            await api.create_group("lab", [member])
            forced = await api.api("POST", f"/users/{outsider}/server", {"profile": "large"},
                                   ok=(403,))
            user = await api.api("GET", f"/users/{outsider}")
            assert user["servers"] == {}, user
            await api.spawn(member, {"profile": "large"})
            env = await api.run_code(
                member, "import os; print(os.environ['WISEHUB_PROFILE'], "
                        "os.environ['WISEHUB_DASK_WORKERS'])")
            await api.stop(member)
            return forced["message"], env

    refusal, env = run(scenario())
    assert "restricted" in refusal
    assert env.split() == ["large", "4"]
    password = hub_settings.hub.demo_password.get_secret_value()

    async def spawn_page(name: str) -> str:
        async with (logged_in(hub.url, name, password) as browser,
                    browser.get(f"{hub.url}hub/spawn") as reply):
            return await reply.text()

    forms = {name: run(spawn_page(name)) for name in (member, outsider)}
    assert 'value="large"' in forms[member] and 'value="small"' in forms[member]
    assert 'value="large"' not in forms[outsider] and 'value="small"' in forms[outsider]
