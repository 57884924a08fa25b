"""``submit()``, ``jobs()`` and ``job()``: the batch API a notebook uses (examples on each)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cloudpickle

from wisehub.batch.errors import BatchError, JobSpecError, LimitError
from wisehub.batch.job import Job, JobList
from wisehub.batch.local import LocalBackend
from wisehub.batch.spec import Target, function_target, notebook_target, plain
from wisehub.batch.state import JobRecord

if TYPE_CHECKING:
    from wisehub.compute.api_client import ComputeAPI


def _is_notebook(what: Any) -> bool:
    return isinstance(what, str | Path) and str(what).endswith(".ipynb")


def submit(what: Callable[..., Any] | str | Path, *args: Any, workers: int = 1,
           adaptive: bool = False, wall_time: float | None = None,
           outputs: Iterable[str] = (), name: str = "",
           parameters: Mapping[str, Any] | None = None, backend: LocalBackend | None = None,
           **kwargs: Any) -> Job:
    """Run a function or a notebook as a batch job that outlives this kernel; return at once.

    Parameters
    ----------
    what
        A callable, ``"package.module:function"``, ``"path/in/home.py:function"``, or a
        notebook path (``.ipynb``, in your home) run by papermill.
    *args, **kwargs
        The function's arguments; for a notebook, ``kwargs`` are its parameters.
    workers, adaptive
        The job's own Dask cluster: ``workers`` workers, or adaptive between 1 and
        ``workers``. Inside the job ``wh.cluster()`` and ``distributed.get_client()`` use it.
    wall_time
        Seconds the job may run (default: your limit); past it the job is stopped and marked
        ``timed-out``.
    outputs
        Files (relative to the current directory) the job writes; they become lineage products.
    name
        A label for the job list.

    Under a hub (a user server, where the compute service is known) the job is submitted
    through the service: it checks your limits from the hub's groups, and the job's cluster
    comes from it, counted with your other clusters. Elsewhere (or given ``backend``) the job
    starts here, on a ``LocalCluster`` of its own.

    Raises
    ------
    JobSpecError
        The function cannot be found, the notebook is missing or does not declare a parameter.
    LimitError
        The job would exceed a limit (the message names it). Nothing is queued in either case.

    Examples
    --------
    ``wh.batch.submit("mypipeline.nightly:reduce", night="2024-03-01", workers=4)`` returns
    a :class:`Job` at once; ``job.status()`` then says ``'queued'``, ``'running'``, and so on.
    A function that cannot be imported is refused at submit time, and nothing is queued:

    >>> import tempfile
    >>> from wisehub.config import Settings
    >>> mine = LocalBackend(Settings(data_dir=tempfile.mkdtemp(), user="ada"))
    >>> submit("no_such_pipeline.nightly:reduce", night="2024-03-01", backend=mine)
    Traceback (most recent call last):
    ...
    wisehub.batch.errors.JobSpecError: function 'no_such_pipeline.nightly:reduce': cannot import ...
    >>> len(jobs(mine))
    0
    """
    service = _compute_service() if backend is None else None
    if service is not None:
        made = _submit_to_service(service, what, args, kwargs, parameters, workers=workers,
                                  adaptive=adaptive, wall_time=wall_time,
                                  outputs=[str(o) for o in outputs], name=name)
        if made is not None:
            return made
    backend = backend or LocalBackend()
    limits = backend.batch.limits_for(backend.groups)
    common = {"workers": workers, "adaptive": adaptive, "name": name,
              "wall_time": float(wall_time if wall_time is not None else limits.wall_time),
              "cwd": os.getcwd(), "outputs": [str(o) for o in outputs]}
    if _is_notebook(what):
        if args:
            raise TypeError("a notebook job takes parameters by name, not positional arguments")
        params = {**(parameters or {}), **kwargs}
        target = notebook_target(what, params)
        record = JobRecord.new(backend.user, kind="notebook", target=target.target,
                               parameters=plain(params), code_version=target.code_version,
                               **common)
        call = None
    else:
        if parameters:
            raise TypeError("parameters= is for notebooks; pass a function's arguments directly")
        target = function_target(what)  # type: ignore[arg-type]
        record = JobRecord.new(backend.user, kind="function", target=target.target,
                               parameters=plain({"args": list(args), "kwargs": kwargs}),
                               code_version=target.code_version, **common)
        call = {"args": args, "kwargs": kwargs, "pickled": target.pickled}
    backend.submit(record, call)
    return Job(backend, record.id)


def _compute_service() -> ComputeAPI | None:
    """The hub's compute service, inside a user server (distributed is imported only then)."""
    from wisehub.compute.settings import URL_ENV

    if not os.environ.get(URL_ENV):
        return None
    from wisehub.compute.api_client import ComputeAPI

    return ComputeAPI.from_environment()


def _encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _submit_to_service(service: ComputeAPI, what: Any, args: tuple, kwargs: dict,
                       parameters: Mapping[str, Any] | None, **common: Any) -> Job | None:
    """Check here (the same messages, at once), then submit through the compute service;
    None if it does not start jobs (system-users mode: they start here, as their owner)."""
    body: dict[str, Any] = {**common, "cwd": os.getcwd(), "home": str(Path.home()),
                            "environment": dict(os.environ)}
    if _is_notebook(what):
        if args:
            raise TypeError("a notebook job takes parameters by name, not positional arguments")
        params = {**(parameters or {}), **kwargs}
        target: Target = notebook_target(what, params)
        body["parameters"] = plain(params)
    else:
        if parameters:
            raise TypeError("parameters= is for notebooks; pass a function's arguments directly")
        target = function_target(what)
        body.update(args=plain(list(args)), kwargs=plain(kwargs),
                    call=_encoded(cloudpickle.dumps({"args": args, "kwargs": kwargs})))
        if target.pickled is not None:
            body["function"] = _encoded(target.pickled)
    body["target"] = target.target
    from wisehub.compute.api_client import ComputeError

    try:
        made = service.request("POST", "jobs", body)
    except ComputeError as err:
        if err.status == 501:
            return None
        reason = str(err).removeprefix(f"POST jobs: {err.status} ")
        raise {400: JobSpecError, 429: LimitError}.get(err.status or 0, BatchError)(
            reason) from None
    return Job(LocalBackend(user=made["user"]), made["id"])


def jobs(backend: LocalBackend | None = None) -> JobList:
    """Your batch jobs, oldest first (a table in JupyterLab).

    >>> import tempfile
    >>> from wisehub.config import Settings
    >>> jobs(LocalBackend(Settings(data_dir=tempfile.mkdtemp(), user="ada")))
    (no batch jobs)
    """
    backend = backend or LocalBackend()
    backend.cleanup()
    return JobList([Job(backend, r.id) for r in backend.records()])


def job(job_id: str, backend: LocalBackend | None = None) -> Job:
    """One of your jobs by id, from any later session; :class:`UnknownJobError` otherwise.

    >>> import tempfile
    >>> from wisehub.config import Settings
    >>> job("20260101T120000-0a1b2c3d", LocalBackend(Settings(data_dir=tempfile.mkdtemp(),
    ...                                                       user="ada")))
    Traceback (most recent call last):
    ...
    wisehub.batch.errors.UnknownJobError: no batch job 20260101T120000-0a1b2c3d for user 'ada'; ...
    """
    backend = backend or LocalBackend()
    backend.record(job_id)
    return Job(backend, job_id)
