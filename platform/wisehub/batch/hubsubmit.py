"""Submitting a job through the compute service (``POST /services/compute/jobs``).

Under a hub this is how every job starts, from the library (``wh.batch.submit`` in a user
server) or from any REST caller. The caller is who the hub says (its token), with the groups
the hub gives them, so the limits rest on the hub's groups and not on ``WISEHUB_GROUPS``,
which a user can set:
- the target is checked as the library checks it, in the job's own environment
  (:mod:`wisehub.batch.check`); a bad function, notebook or parameter is refused;
- the batch limits (the service's settings, the hub's groups) are checked, with the wall time
  at most the compute ``lifetime`` of a cluster;
- the job's Dask cluster is made by the compute service, counted against the owner's compute
  limits (``clusters``, ``workers``, ...) with their other clusters; it does not follow the
  owner's server (the job outlives it) and the job ends it when it is over.

Whatever is refused leaves nothing queued and no cluster. The service never unpickles what a
caller sends: arguments from the library travel pickled and are unpacked by the job itself.

>>> JobRequest.model_validate({"target": "math:sqrt", "args": [4]}).kind
'function'
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import pickle
import sys
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wisehub.batch.connection import write_connection
from wisehub.batch.errors import BatchError, JobSpecError, LimitError
from wisehub.batch.local import LocalBackend
from wisehub.batch.settings import BatchSettings
from wisehub.batch.spec import BY_VALUE, plain
from wisehub.batch.state import JobRecord
from wisehub.config import Settings

if TYPE_CHECKING:
    from wisehub.compute.hubapi import HubUser
    from wisehub.compute.manager import ClusterManager
    from wisehub.compute.records import ClusterRecord

T = TypeVar("T")
HIDDEN_PREFIXES = ("JUPYTERHUB_", "WISEHUB_COMPUTE_")
"""Environment variables a job never gets from the service: the service's own hub token and
configuration (and a caller's server token, which dies with the server anyway)."""
CHECK_TIMEOUT_S = 120.0


class NotHere(BatchError):
    """This service does not start jobs (system-users mode: it runs as root, and jobs must run
    as their owner's account); the library then starts them in the user's own account."""


class JobRequest(BaseModel):
    """The body of ``POST jobs``; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=4096,
                        description="module:function, file.py:function or a notebook")
    args: list[Any] = Field(default_factory=list, description="a function's arguments (JSON)")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict, description="a notebook's")
    workers: int = Field(1, ge=1, le=1000)
    adaptive: bool = False
    wall_time: float | None = Field(None, gt=0, description="seconds (default: the limit)")
    outputs: list[str] = Field(default_factory=list)
    name: str = Field("", max_length=200)
    cwd: str | None = Field(None, description="where the job runs (default: the home)")
    home: str | None = Field(None, description="the caller's home (default: from settings)")
    environment: dict[str, str] = Field(default_factory=dict)
    call: str | None = Field(None, description="the library's pickled arguments (base64)")
    function: str | None = Field(None, description="the library's pickled function (base64)")

    @property
    def kind(self) -> str:
        """``notebook`` for a ``.ipynb`` target, else ``function``."""
        return "notebook" if self.target.endswith(".ipynb") else "function"


def parse_request(body: Any) -> JobRequest:
    """A :class:`JobRequest`, or :class:`JobSpecError` naming every problem.

    >>> parse_request({"target": "math:sqrt", "workers": 0})
    Traceback (most recent call last):
    ...
    wisehub.batch.errors.JobSpecError: invalid job request: workers: Input should be ...
    """
    try:
        request = JobRequest.model_validate(body)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in err.errors())
        raise JobSpecError(f"invalid job request: {problems}") from None
    if request.kind == "notebook" and (request.args or request.kwargs or request.call
                                       or request.function):
        raise JobSpecError("a notebook job takes parameters, not args, kwargs or a call")
    if request.kind == "function" and request.parameters:
        raise JobSpecError("parameters are for notebooks; give a function args and kwargs")
    if request.target.startswith(f"{BY_VALUE}:") and not request.function:
        raise JobSpecError(f"target {request.target!r} names a pickled function, but none "
                           "was sent")
    return request


def user_home(settings: Settings, user: str) -> Path:
    """Where the hub's spawner keeps ``user``'s home (see ``hub.homes_dir``).

    >>> user_home(Settings(data_dir="/srv/wh"), "ada")
    PosixPath('/srv/wh/homes/ada')
    """
    hub = settings.hub
    homes = hub.homes_dir or (Path("/home") if hub.spawner == "system-users"
                              else settings.data_dir / "homes")
    return Path(homes) / user


def job_environment(service: Mapping[str, str], requested: Mapping[str, str], home: Path
                    ) -> dict[str, str]:
    """The job's environment: the service's and the caller's, without any hub token.

    >>> job_environment({"JUPYTERHUB_API_TOKEN": "s", "PATH": "/bin"},
    ...                 {"JUPYTERHUB_API_TOKEN": "u", "NIGHT": "1"}, Path("/h"))
    {'PATH': '/bin', 'NIGHT': '1', 'HOME': '/h'}
    """
    def shown(env: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in env.items() if not k.startswith(HIDDEN_PREFIXES)}

    return {**shown(service), **shown(requested), "HOME": str(home)}


async def checked_target(request: JobRequest, home: Path, cwd: Path,
                         env: Mapping[str, str]) -> dict[str, str]:
    """``{"target", "code_version"}`` of the request, checked in the job's environment."""
    if request.function is not None:
        return {"target": request.target,
                "code_version": hashlib.sha256(_decoded(request.function)).hexdigest()}
    spec = {"kind": request.kind, "target": request.target, "parameters": request.parameters,
            "home": str(home)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wisehub.batch.check", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(env),
        cwd=cwd)
    try:
        out, err = await asyncio.wait_for(process.communicate(json.dumps(spec).encode()),
                                          CHECK_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        raise JobSpecError(f"checking {request.target!r} took over {CHECK_TIMEOUT_S:g} s"
                           ) from None
    try:
        answer = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BatchError(f"could not check {request.target!r}: "
                         f"{err.decode(errors='replace')[-500:]}") from None
    if "error" in answer:
        raise JobSpecError(answer["error"])
    return answer


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise JobSpecError("call and function must be base64 text") from None


def _call(request: JobRequest) -> bytes | None:
    """``call.pkl`` of a function job: JSON arguments pickled here, or the library's pickles
    kept packed (unpickled only by the job)."""
    if request.kind == "notebook":
        return None
    pickled = _decoded(request.function) if request.function else None
    if request.call is not None:
        return pickle.dumps({"pickled": pickled, "packed": _decoded(request.call)})
    return pickle.dumps({"args": request.args, "kwargs": request.kwargs, "pickled": pickled})


class ServiceCluster:
    """A job's cluster from the compute service (a :class:`~wisehub.batch.local.ClusterLease`),
    used from a worker thread while the service's event loop runs ``loop``."""

    def __init__(self, manager: ClusterManager, user: HubUser,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.manager = manager
        self.user = user
        self.loop = loop
        self.cluster: ClusterRecord | None = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=600)

    def acquire(self, record: JobRecord, directory: Path) -> None:
        """Make the job's cluster within the owner's compute limits; keep its connection."""
        from wisehub.compute.limits import LimitExceeded
        from wisehub.compute.localbackend import BackendError
        from wisehub.compute.schema import Adaptive, ClusterRequest

        request = (ClusterRequest(adaptive=Adaptive(minimum=1, maximum=record.workers))
                   if record.adaptive else ClusterRequest(workers=record.workers))
        try:
            self.cluster = self._run(self.manager.create(self.user, request, job=record.id))
        except LimitExceeded as err:
            raise LimitError(f"compute {err} (the job's cluster counts with your other "
                             "clusters); ask for fewer workers or end a cluster") from None
        except BackendError as err:
            raise BatchError(f"the compute service could not start the job's cluster: {err}"
                             ) from None
        assert self.cluster.address is not None
        write_connection(directory, self.cluster.id, self.cluster.address,
                         self.manager.credentials(self.cluster))

    def release(self) -> None:
        """Remove the cluster (the job did not start)."""
        if self.cluster is not None:
            self._run(self.manager.remove(self.cluster, "its batch job did not start"))
            self.cluster = None


async def submit_for(manager: ClusterManager, user: HubUser, body: Any, *,
                     settings: Settings, batch: BatchSettings,
                     service_environment: Mapping[str, str]) -> JobRecord:
    """Check and start the job ``body`` describes, for the hub's ``user``; its record.

    Raises :class:`JobSpecError` (bad request or target), :class:`LimitError` (a batch or
    compute limit, named) or :class:`BatchError`; nothing is queued then.
    """
    if manager.settings.run_as_owner:
        raise NotHere("in system-users mode jobs start in your own account: submit them from "
                      "your server with wh.batch.submit or `wisehub batch submit`")
    request = parse_request(body)
    home = Path(request.home) if request.home else user_home(settings, user.name)
    cwd = Path(request.cwd) if request.cwd else home
    if not cwd.is_dir():
        raise JobSpecError(f"cwd {str(cwd)!r} is not a directory")
    env = job_environment(service_environment, request.environment, home)
    target = await checked_target(request, home, cwd, env)
    groups = sorted(user.groups)
    limits = batch.limits_for(groups)
    lifetime = manager.settings.limits_for(groups).lifetime
    limits = limits.model_copy(update={"wall_time": min(limits.wall_time, lifetime)})
    parameters = (request.parameters if request.kind == "notebook"
                  else {"args": request.args, "kwargs": request.kwargs})
    record = JobRecord.new(
        user.name, kind=request.kind, target=target["target"], parameters=plain(parameters),
        code_version=target["code_version"], workers=request.workers,
        adaptive=request.adaptive, name=request.name, cwd=str(cwd),
        wall_time=float(request.wall_time or limits.wall_time), outputs=request.outputs)
    backend = LocalBackend(settings, batch, user=user.name, groups=groups, environment=env)
    cluster = ServiceCluster(manager, user, asyncio.get_running_loop())
    await asyncio.to_thread(backend.submit, record, _call(request), cluster, limits)
    return record
