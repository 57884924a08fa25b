"""Batch jobs through the compute service of the session's real hub, as two users.

Starts nothing of its own: the session hub (JupyterHub + proxy + its ``compute`` service, local
backend) runs the jobs; each job's Dask cluster is a real TLS scheduler and workers made by
the service. Users are unique to this test.
- ``POST /services/compute/jobs`` checks what it is sent as the library does: a bad function,
  notebook or parameter answers 400 and queues nothing.
- The library inside a hub submits through the service, so the limits come from the hub's
  groups: a user who sets ``WISEHUB_GROUPS=lab`` (and lab limits) in their own environment
  still gets their own, and a job over them is refused, nothing queued, no cluster made.
- The job's cluster comes from the compute service, counts against the owner's compute limits
  while the job runs, and goes when the job ends (or is cancelled).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import wisehub as wh
from batchtools import WAIT, write_notebook
from hubtools import client, run, unique
from wisehub.batch import LimitError
from wisehub.batch.hubsubmit import user_home
from wisehub.compute.api_client import ComputeAPI, ComputeError
from wisehub.compute.settings import URL_ENV
from wisehub.config import Settings, get_settings
from wisehub.hub.launcher import RunningHub

pytestmark = pytest.mark.hub

JOB_CODE = '''
import os, time

def triple_when_released(flag, value):
    """Wait (at most 200 s) until the test creates ``flag``, then compute on Dask."""
    deadline = time.time() + 200
    while not os.path.exists(flag) and time.time() < deadline:
        time.sleep(0.2)
    from distributed import get_client
    return get_client().submit(lambda v: 3 * v, value).result()
'''


def wait_until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


class Caller:
    """One hub user: their home, and REST calls to the compute service with their token."""

    def __init__(self, hub: RunningHub, settings: Settings, name: str, token: str) -> None:
        self.name, self.token = name, token
        self.url = f"{hub.url}services/compute/"
        self.compute = ComputeAPI(self.url, token)
        self.home = user_home(settings, name)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "jobs.py").write_text(JOB_CODE)
        write_notebook(self.home / "night.ipynb")

    def call(self, method: str, path: str, body: object = None) -> requests.Response:
        return requests.request(method, self.url + path, json=body, timeout=120,
                                headers={"Authorization": f"token {self.token}"})

    def jobs(self) -> list[dict]:
        reply = self.call("GET", "jobs")
        assert reply.status_code == 200, reply.text
        return reply.json()["jobs"]


@pytest.fixture
def callers(hub: RunningHub, hub_settings: Settings) -> tuple[Caller, Caller]:
    names = unique("ada"), unique("bob")

    async def tokens() -> list[str]:
        async with client(hub) as admin:
            for name in names:
                await admin.create_user(name)
            return [await admin.token_for(name) for name in names]

    return tuple(Caller(hub, hub_settings, name, token)  # type: ignore[return-value]
                 for name, token in zip(names, run(tokens()), strict=True))


@pytest.mark.parametrize(("body", "reason"), [
    ({"target": "jobs.py:nope"}, "defines no top-level function 'nope'"),
    ({"target": "no_such_module_x:run"}, "cannot import 'no_such_module_x'"),
    ({"target": "../../etc/passwd.py:f"}, "is outside your home"),
    ({"target": "missing.ipynb"}, "'missing.ipynb' not found"),
    ({"target": "night.ipynb", "parameters": {"moon": 1}}, "does not declare parameter(s) moon"),
    ({"target": "jobs.py:triple_when_released", "workers": "many"}, "workers: Input should be"),
    ({"target": "jobs.py:triple_when_released", "priority": 9}, "priority: Extra inputs"),
], ids=["function", "module", "outside-home", "notebook", "parameter", "type", "unknown-field"])
def test_rest_submit_refuses_bad_jobs_and_queues_nothing(callers, body, reason):
    ada, _ = callers
    reply = ada.call("POST", "jobs", body)
    assert reply.status_code == 400, reply.text
    assert reason in reply.json()["message"]
    assert ada.jobs() == [] and ada.compute.list() == []


def test_jobs_run_on_service_clusters_within_the_hubs_limits(callers, monkeypatch):
    ada, bob = callers
    # Ada's "server": the variables a hub gives a user server, plus her own attempt at more.
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", ada.token)
    monkeypatch.setenv(URL_ENV, ada.url)
    monkeypatch.setenv("WISEHUB_GROUPS", "lab")
    monkeypatch.setenv("WISEHUB_BATCH__LIMITS__WORKERS", "8")
    monkeypatch.setenv("WISEHUB_BATCH__GROUP_LIMITS", '{"lab": {"workers": 8}}')
    monkeypatch.setenv("HOME", str(ada.home))
    monkeypatch.chdir(ada.home)
    flag = ada.home / "go"

    with pytest.raises(LimitError, match=r"^limit workers: the job asks for 6 Dask workers, "
                                         r"but user '.*' \(groups: none\) may use 4 per job"):
        wh.batch.submit("jobs.py:triple_when_released", str(flag), 14, workers=6)
    assert ada.jobs() == [] and ada.compute.list() == []

    job = wh.batch.submit("jobs.py:triple_when_released", str(flag), 14, workers=2)
    [cluster] = ada.compute.list()
    assert cluster["job"] == job.id and cluster["workers"] == 2
    wait_until(lambda: job.status() == "running")
    # The job's cluster counts with Ada's other clusters, and with her next job's.
    with pytest.raises(ComputeError, match="limit 'workers' is 4 per user; you hold 2 and "
                                           "asked for 3 more"):
        ada.compute.create(3)
    with pytest.raises(LimitError, match="^compute limit 'workers' is 4 per user; you hold 2"):
        wh.batch.submit("jobs.py:triple_when_released", str(flag), 1, workers=3)
    assert [j["id"] for j in ada.jobs()] == [job.id]

    # Bob submits a notebook over REST; neither sees the other's job.
    reply = bob.call("POST", "jobs", {"target": "night.ipynb", "name": "night",
                                      "parameters": {"night": "2024-05-05", "n": 5}})
    assert reply.status_code == 201, reply.text
    bob_job = reply.json()
    assert (bob_job["user"], bob_job["kind"], bob_job["status"]) == (bob.name, "notebook",
                                                                     "queued")
    assert Path(bob_job["target"]) == bob.home / "night.ipynb"
    assert ada.call("GET", f"jobs/{bob_job['id']}").status_code == 404
    assert bob.call("GET", f"jobs/{job.id}").status_code == 404
    assert bob.call("POST", f"jobs/{job.id}/cancel").status_code == 404
    assert [j["id"] for j in bob.jobs()] == [bob_job["id"]]

    # Cancelling a running job ends its cluster too.
    held = bob.call("POST", "jobs", {"target": "jobs.py:triple_when_released",
                                     "args": [str(bob.home / "never"), 1]}).json()
    wait_until(lambda: bob.call("GET", f"jobs/{held['id']}").json()["status"] == "running")
    assert bob.call("POST", f"jobs/{held['id']}/cancel").json()["status"] == "cancelled"
    wait_until(lambda: all(c["job"] != held["id"] for c in bob.compute.list()))

    flag.touch()
    assert job.wait(WAIT) == "succeeded", job.logs()
    assert job.result() == 42
    wait_until(lambda: ada.compute.list() == [])  # the cluster went with the job

    wait_until(lambda: bob.call("GET", f"jobs/{bob_job['id']}").json()["status"] not in
               ("queued", "running"))
    done = bob.call("GET", f"jobs/{bob_job['id']}").json()
    assert done["status"] == "succeeded", bob.call("GET", f"jobs/{bob_job['id']}/logs").text
    notebook = bob.call("GET", f"jobs/{bob_job['id']}/result").json()
    assert "night 2024-05-05 total 10" in json.dumps(notebook)
    wait_until(lambda: bob.compute.list() == [])
    get_settings.cache_clear()
