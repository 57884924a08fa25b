"""The service side of submitting, without a hub: what a job is given and what is refused.

Plain functions on real settings objects; the hub path itself is tested in
``test_service_jobs.py``.
"""

from __future__ import annotations

import asyncio
import base64
import pickle
from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import pytest
from wisehub.batch.errors import JobSpecError
from wisehub.batch.hubsubmit import (
    NotHere,
    _call,
    job_environment,
    parse_request,
    submit_for,
)
from wisehub.batch.runner import _load_call
from wisehub.batch.settings import BatchSettings
from wisehub.compute.hubapi import HubUser
from wisehub.compute.settings import ComputeSettings
from wisehub.config import Settings


def test_a_job_never_gets_the_services_or_a_callers_hub_token():
    service = {"JUPYTERHUB_API_TOKEN": "service-secret", "JUPYTERHUB_API_URL": "http://hub",
               "WISEHUB_COMPUTE_CONFIG": "{}", "PATH": "/usr/bin"}
    caller = {"JUPYTERHUB_API_TOKEN": "server-token", "NIGHT": "2024-05-05",
              "HOME": "/elsewhere"}
    env = job_environment(service, caller, Path("/homes/ada"))
    assert env == {"PATH": "/usr/bin", "NIGHT": "2024-05-05", "HOME": "/homes/ada"}


@pytest.mark.parametrize(("body", "reason"), [
    ({}, "target: Field required"),
    ({"target": "n.ipynb", "args": [1]}, "a notebook job takes parameters"),
    ({"target": "m:f", "parameters": {"x": 1}}, "parameters are for notebooks"),
    ({"target": "<pickled>:f"}, "names a pickled function, but none was sent"),
    ([1, 2], "invalid job request"),
])
def test_bad_requests_are_refused_by_name(body, reason):
    with pytest.raises(JobSpecError, match=reason):
        parse_request(body)


def test_a_system_users_service_does_not_start_jobs_as_root(tmp_path):
    """There the service runs as root; jobs start in the owner's own account instead (the
    library falls back to its local backend on this refusal)."""
    manager = SimpleNamespace(settings=ComputeSettings(run_as_owner=True))
    user = HubUser("ada", admin=False, groups=frozenset(), server_started=None)
    with pytest.raises(NotHere, match="system-users mode"):
        asyncio.run(submit_for(manager, user, {"target": "math:sqrt"},  # type: ignore[arg-type]
                               settings=Settings(data_dir=tmp_path), batch=BatchSettings(),
                               service_environment={}))
    assert not (tmp_path / "batch").exists()


def test_library_arguments_stay_packed_until_the_job_unpacks_them(tmp_path):
    """The service stores what the library pickled without unpickling it; the runner (the
    user's own process) unpacks it."""
    packed = cloudpickle.dumps({"args": (Path("/x"),), "kwargs": {"n": 3}})
    request = parse_request({"target": "m:f", "call": base64.b64encode(packed).decode()})
    path = tmp_path / "call.pkl"
    path.write_bytes(_call(request))  # type: ignore[arg-type]
    assert pickle.loads(path.read_bytes()) == {"pickled": None, "packed": packed}
    assert _load_call(path) == {"pickled": None, "args": (Path("/x"),), "kwargs": {"n": 3}}
