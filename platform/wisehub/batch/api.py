"""The batch REST API: tornado handlers that mount in the compute service, below
``/services/compute/``: ``GET``/``POST jobs``, ``jobs/<id>``, ``jobs/<id>/logs``,
``jobs/<id>/result`` and ``POST jobs/<id>/cancel``.

Every request is authenticated as the compute service authenticates its own (the caller's
token or hub login cookie, scope ``access:services!service=compute``; name and groups from
the hub), and served from the caller's own job directories only, so another user's job id
answers 404, exactly like an unknown one. The application must carry the compute service's
``hub_auth`` and ``manager`` settings (``wisehub.compute.service.make_app``).

>>> [pattern for pattern, *_ in handlers()][:2]
['jobs/?', 'jobs/([^/]+)/?']
"""

from __future__ import annotations

import json
import os
from typing import Any

from tornado import web

from wisehub.batch.errors import (
    BatchError,
    JobSpecError,
    JobStateError,
    LimitError,
    UnknownJobError,
)
from wisehub.batch.hubsubmit import NotHere, submit_for
from wisehub.batch.local import LocalBackend
from wisehub.batch.settings import BatchSettings
from wisehub.batch.state import JobRecord
from wisehub.compute.auth import AuthenticatedHandler
from wisehub.config import Settings, get_settings

PUBLIC = ("id", "user", "name", "kind", "target", "parameters", "workers", "adaptive",
          "wall_time", "outputs", "code_version", "status", "submitted_at", "started_at",
          "ended_at", "message", "error", "exit_code", "products", "has_result")


def public(record: JobRecord) -> dict[str, Any]:
    """What the API shows of a job (not its process ids or working directory)."""
    data = record.to_dict()
    return {key: data[key] for key in PUBLIC}


class JobHandler(AuthenticatedHandler):
    """Base: the authenticated caller (``self.hub_user``, as the hub knows them), their
    backend, JSON replies, errors as clear 4xx."""

    def initialize(self, settings: Settings, batch: BatchSettings) -> None:  # type: ignore[override]
        super().initialize(self.application.settings["manager"])
        self.platform = settings
        self.batch = batch

    @property
    def backend(self) -> LocalBackend:
        return LocalBackend(self.platform, self.batch, user=self.hub_user.name,
                            groups=sorted(self.hub_user.groups))

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data, default=str))

    def call(self, action: Any, *args: Any) -> Any:
        try:
            return action(*args)
        except UnknownJobError as err:
            raise web.HTTPError(404, str(err)) from None
        except JobStateError as err:
            raise web.HTTPError(409, str(err).splitlines()[0]) from None


class JobsHandler(JobHandler):
    """``GET jobs``: the caller's jobs; ``POST jobs``: submit one (see
    :class:`wisehub.batch.hubsubmit.JobRequest`)."""

    def get(self) -> None:
        backend = self.backend
        backend.cleanup()
        self.reply({"jobs": [public(r) for r in backend.records()]})

    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as err:
            raise web.HTTPError(400, f"the request body is not JSON: {err}") from None
        try:
            record = await submit_for(self.manager, self.hub_user, body,
                                      settings=self.platform, batch=self.batch,
                                      service_environment=os.environ)
        except JobSpecError as err:
            raise web.HTTPError(400, str(err)) from None
        except LimitError as err:
            raise web.HTTPError(429, str(err)) from None
        except NotHere as err:
            raise web.HTTPError(501, str(err)) from None
        except BatchError as err:
            raise web.HTTPError(503, str(err)) from None
        self.reply(public(record), 201)


class OneJobHandler(JobHandler):
    """``GET jobs/<id>``: one of the caller's jobs."""

    def get(self, job_id: str) -> None:
        self.reply(public(self.call(self.backend.record, job_id)))


class LogsHandler(JobHandler):
    """``GET jobs/<id>/logs?lines=N``: the tail of its logs, as text."""

    def get(self, job_id: str) -> None:
        try:
            lines = int(self.get_argument("lines", "200"))
        except ValueError:
            raise web.HTTPError(400, "lines must be a whole number") from None
        text = self.call(self.backend.logs, job_id, max(1, min(lines, 10000)))
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text)


class ResultHandler(JobHandler):
    """``GET jobs/<id>/result``: the executed notebook, or a JSON-able return value."""

    def get(self, job_id: str) -> None:
        backend = self.backend
        record = self.call(backend.record, job_id)
        if record.kind == "notebook":
            path = self.call(backend.result, job_id)
            self.set_header("Content-Type", "application/x-ipynb+json")
            self.set_header("Content-Disposition", f'attachment; filename="{job_id}.ipynb"')
            self.finish(path.read_bytes())
            return
        self.set_header("Content-Type", "application/json")
        self.finish(self.call(backend.result_json, job_id))


class CancelHandler(JobHandler):
    """``POST jobs/<id>/cancel``: stop it; replies with its record."""

    def post(self, job_id: str) -> None:
        self.reply(public(self.call(self.backend.cancel, job_id)))


def handlers(prefix: str = "", settings: Settings | None = None,
             batch: BatchSettings | None = None) -> list[tuple[str, type, dict[str, Any]]]:
    """``(pattern, handler, kwargs)`` tuples; patterns are relative to ``prefix`` (empty for
    the compute service's ``make_app(extra_handlers=...)``, which adds its own)."""
    kwargs = {"settings": settings or get_settings(), "batch": batch or BatchSettings()}
    routes = [("jobs/?", JobsHandler), ("jobs/([^/]+)/?", OneJobHandler),
              ("jobs/([^/]+)/logs", LogsHandler), ("jobs/([^/]+)/result", ResultHandler),
              ("jobs/([^/]+)/cancel", CancelHandler)]
    return [(f"{prefix}{pattern}", handler, kwargs) for pattern, handler in routes]
