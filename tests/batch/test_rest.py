"""Batch jobs through a real hub: submitted from a kernel in a user's server, they survive the
server stopping and the hub (with its services) restarting; then they are collected through
the REST API and from a new kernel. Another user gets 404 for all of it.

Starts: a JupyterHub + configurable-http-proxy on 127.0.0.1 (the launcher behind ``wisehub
up``), a single-user server, and the hub's compute service, which serves ``wisehub.batch.api``
and makes each job's Dask cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from batchtools import WAIT, write_notebook
from hubtools import client, run, unique
from wisehub.config import Settings, load_settings
from wisehub.hub import launcher

pytestmark = pytest.mark.hub

JOB_CODE = "def triple(x):\n    return 3 * x\n"
SUBMIT = """
import json, wisehub as wh
fn = wh.batch.submit("triple.py:triple", 14, name="triple")
nb = wh.batch.submit("night.ipynb", night="2024-05-05", n=5, name="night")
print(json.dumps([fn.id, nb.id]))
"""
COLLECT = """
import json, wisehub as wh
fn, nb = wh.batch.job({fn!r}), wh.batch.job({nb!r})
print(json.dumps([fn.result(), str(nb.result()), fn.status(), len(wh.batch.jobs())]))
"""


@pytest.fixture
def batch_hub(tmp_path: Path
              ) -> Iterator[tuple[Settings, list[launcher.RunningHub]]]:
    """Settings and a (restartable) hub, whose compute service serves the batch routes; the
    list holds the running hub, replaced on restart."""
    settings = load_settings(data_dir=tmp_path / "data",
                             hub={"demo_password": "demo-password-for-tests"})
    hubs = [launcher.start(settings)]
    try:
        yield settings, hubs
    finally:
        launcher.stop(hubs[-1])


def _api(hub: launcher.RunningHub, token: str, path: str, method: str = "GET"
         ) -> requests.Response:
    return requests.request(method, f"{hub.url}services/compute/{path}", timeout=60,
                            headers={"Authorization": f"token {token}"}, allow_redirects=False)


def _service_up(hub: launcher.RunningHub, token: str) -> None:
    deadline = time.monotonic() + 60
    while _api(hub, token, "jobs").status_code != 200:
        assert time.monotonic() < deadline, "the batch service did not answer"
        time.sleep(0.5)


def test_jobs_survive_server_stop_and_hub_restart_and_stay_private(batch_hub):
    settings, hubs = batch_hub
    ada, bob = unique("ada"), unique("bob")
    home = settings.data_dir / "homes" / ada

    async def submit_from_kernel() -> tuple[list[str], str, str]:
        async with client(hubs[0]) as api:
            for user in (ada, bob):
                await api.create_user(user)
            await api.spawn(ada)
            (home / "triple.py").write_text(JOB_CODE)
            write_notebook(home / "night.ipynb")
            async with api.kernel(ada) as kernel:
                ids = json.loads((await kernel.run(SUBMIT)).strip().splitlines()[-1])
            await api.stop(ada)  # the user's server (and its kernel) stops
            return ids, await api.token_for(ada), await api.token_for(bob)

    (fn_id, nb_id), ada_token, bob_token = run(submit_from_kernel())
    launcher.stop(hubs[0])  # the hub, its proxy and services stop
    hubs.append(launcher.start(settings))
    hub = hubs[-1]
    _service_up(hub, ada_token)

    deadline = time.monotonic() + WAIT
    while {j["status"] for j in _api(hub, ada_token, "jobs").json()["jobs"]} != {"succeeded"}:
        assert time.monotonic() < deadline, _api(hub, ada_token, "jobs").json()
        time.sleep(1)
    listed = _api(hub, ada_token, "jobs").json()["jobs"]
    assert sorted(j["id"] for j in listed) == sorted([fn_id, nb_id])
    assert all("runner" not in j and "cwd" not in j for j in listed)
    assert _api(hub, ada_token, f"jobs/{fn_id}/result").json() == {"result": 42}
    notebook = _api(hub, ada_token, f"jobs/{nb_id}/result").json()
    assert "night 2024-05-05 total 10" in json.dumps(notebook)
    logs = _api(hub, ada_token, f"jobs/{nb_id}/logs?lines=500").text
    assert "distributed.worker" in logs and "==> supervisor <==" in logs
    # Their clusters came from the compute service, outlived the server, and went with them.
    assert "ended the job's cluster" in logs
    # Listed no more once its scheduler's process has exited, a moment after it closed.
    deadline = time.monotonic() + 5
    while (clusters := _api(hub, ada_token, "clusters").json()["clusters"]) != []:
        assert time.monotonic() < deadline, clusters
        time.sleep(0.2)

    # Bob sees nothing of Ada's: every route answers as for an unknown job.
    assert _api(hub, bob_token, "jobs").json() == {"jobs": []}
    for path, method in ((f"jobs/{fn_id}", "GET"), (f"jobs/{fn_id}/logs", "GET"),
                         (f"jobs/{fn_id}/result", "GET"), (f"jobs/{nb_id}/cancel", "POST")):
        reply = _api(hub, bob_token, path, method)
        assert reply.status_code == 404, (path, reply.status_code, reply.text)
        assert "no batch job" in reply.json()["message"]
    assert _api(hub, "not-a-token", "jobs").status_code in (302, 403)
    assert requests.get(f"{hub.url}services/compute/jobs", timeout=30,
                        allow_redirects=False).status_code in (302, 403)

    async def collect_in_new_kernel() -> list:
        async with client(hub) as api:
            await api.spawn(ada)
            async with api.kernel(ada) as kernel:
                out = await kernel.run(COLLECT.format(fn=fn_id, nb=nb_id))
            await api.stop(ada)
            return json.loads(out.strip().splitlines()[-1])

    value, notebook_path, status, count = run(collect_in_new_kernel())
    assert (value, status, count) == (42, "succeeded", 2)
    assert Path(notebook_path).is_file()
    assert _api(hub, ada_token, f"jobs/{fn_id}").json()["status"] == "succeeded"
