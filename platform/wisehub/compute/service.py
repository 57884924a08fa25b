"""The compute service: a JupyterHub service named ``compute`` that makes Dask clusters for
users, within their limits, and proxies each cluster's dashboard to its owner.

Run by the hub as ``python -m wisehub.compute.service`` (or ``wisehub compute serve``); it reads
its settings from ``WISEHUB_COMPUTE_CONFIG`` (JSON of :class:`ComputeSettings`), its state
directory from ``WISEHUB_COMPUTE_STATE``, and the usual ``JUPYTERHUB_*`` service variables.

REST API, under the service prefix (``/services/compute/``), every call with the caller's hub
token (``Authorization: token …``) or the service's OAuth cookie:

=======  ==============================  ===============================================
POST     ``clusters``                    create: ``{"workers": 2}`` or
                                         ``{"adaptive": {"minimum": 1, "maximum": 4}}``,
                                         optional ``worker_cores``, ``worker_memory``
GET      ``clusters``                    the caller's clusters (an admin's: all)
GET      ``clusters/<id>``               one cluster
PATCH    ``clusters/<id>``               scale: ``{"workers": n}`` or ``{"adaptive": …}``
DELETE   ``clusters/<id>``               stop it
GET      ``clusters/<id>/connection``    address and TLS credentials (owner only)
GET      ``clusters/<id>/status``        the dashboard (owner only), and its other pages
=======  ==============================  ===============================================

Extra handlers (batch routes) mount under the same prefix through ``make_app``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError
from tornado import web

from wisehub.compute.auth import AuthenticatedHandler
from wisehub.compute.backend import BackendError
from wisehub.compute.dashboard import DashboardHandler, DashboardSocketHandler
from wisehub.compute.hubapi import HubAPI
from wisehub.compute.limits import LimitExceeded
from wisehub.compute.manager import ClusterManager, NotFound, Refused
from wisehub.compute.schema import ClusterRequest, ScaleRequest
from wisehub.compute.settings import CONFIG_ENV, SERVICE, STATE_ENV, ComputeSettings
from wisehub.hub.hosted import HostedService, ServiceIdentity, serve_alone
from wisehub.hub.service_auth import OAuthCallbackHandler

log = logging.getLogger("wisehub.compute")


@dataclass
class ServiceConfig:
    """Everything the service needs: its settings, state directory, hub identity, and the
    environment its clusters start with (beside the process's own)."""

    compute: ComputeSettings
    state_dir: Path
    identity: ServiceIdentity
    environment: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> ServiceConfig:
        """The configuration the hub hands a managed service in its environment."""
        raw = os.environ.get(CONFIG_ENV)
        state = os.environ.get(STATE_ENV)
        if not state:
            raise SystemExit(f"{STATE_ENV} (the service's state directory) is unset")
        return cls(compute=ComputeSettings.model_validate_json(raw) if raw else
                   ComputeSettings(),
                   state_dir=Path(state),
                   identity=ServiceIdentity.from_environment(SERVICE, "http://127.0.0.1:10101"))


class APIHandler(AuthenticatedHandler):
    """JSON in and out; manager errors become clear 4xx replies."""

    def body(self) -> Any:
        try:
            return json.loads(self.request.body or b"{}")
        except ValueError as err:
            raise web.HTTPError(400, f"the request body is not JSON: {err}") from None

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def describe(self, record: Any) -> dict:
        return {**record.public(), "dashboard_link": f"{self.manager.dashboard_prefix(record)}"
                                                    "/status"}

    def record(self, cluster_id: str, own: bool = False) -> Any:
        try:
            return self.manager.get(self.hub_user, cluster_id, own=own)
        except NotFound as err:
            raise web.HTTPError(404, str(err)) from None


def _validated(model: Any, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                             for e in err.errors())
        raise web.HTTPError(400, f"invalid request: {problems}") from None


class ClustersHandler(APIHandler):
    """List and create clusters."""

    async def get(self) -> None:
        clusters = await self.manager.visible(self.hub_user)
        self.reply({"clusters": [self.describe(r) for r in clusters]})

    async def post(self) -> None:
        request = _validated(ClusterRequest, self.body())
        try:
            record = await self.manager.create(self.hub_user, request)
        except LimitExceeded as err:
            raise web.HTTPError(429 if err.limit in ("clusters", "workers", "cores", "memory")
                                else 400, str(err)) from None
        except Refused as err:
            raise web.HTTPError(400, str(err)) from None
        except BackendError as err:
            raise web.HTTPError(503, str(err)) from None
        self.reply(self.describe(record), 201)


class ClusterHandler(APIHandler):
    """Get, scale and delete one cluster."""

    async def get(self, cluster_id: str) -> None:
        self.reply(self.describe(self.record(cluster_id)))

    async def patch(self, cluster_id: str) -> None:
        record = self.record(cluster_id)
        request = _validated(ScaleRequest, self.body())
        if request.workers is None and request.adaptive is None:
            raise web.HTTPError(400, "give workers or adaptive")
        try:
            await self.manager.scale(self.hub_user, record, request)
        except LimitExceeded as err:
            raise web.HTTPError(429, str(err)) from None
        except BackendError as err:
            raise web.HTTPError(503, str(err)) from None
        self.reply(self.describe(record))

    async def delete(self, cluster_id: str) -> None:
        await self.manager.remove(self.record(cluster_id), f"deleted by {self.hub_user.name}")
        self.set_status(204)
        self.finish()


class ConnectionHandler(APIHandler):
    """The address and TLS credentials of one of the caller's own clusters."""

    async def get(self, cluster_id: str) -> None:
        record = self.record(cluster_id, own=True)
        self.set_header("Cache-Control", "no-store")
        self.reply({"id": record.id, "address": record.address,
                    "dashboard_link": self.describe(record)["dashboard_link"],
                    "credentials": self.manager.credentials(record).as_dict()})


def make_app(settings: ServiceConfig, extra_handlers: Sequence[tuple] = ()) -> web.Application:
    """The service's tornado application; ``extra_handlers`` are ``(pattern, handler[,
    kwargs])`` tuples whose patterns are relative to the service prefix.

    >>> import tempfile
    >>> identity = ServiceIdentity.new(SERVICE, "http://127.0.0.1:10101",
    ...                                "http://127.0.0.1:8081/hub/api")
    >>> app = make_app(ServiceConfig(ComputeSettings(), Path(tempfile.mkdtemp()), identity))
    >>> from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
    >>> status = RequestStartLine("GET", "/services/compute/clusters/c-1/status", "HTTP/1.1")
    >>> request = HTTPServerRequest(start_line=status, headers=HTTPHeaders(Host="hub"))
    >>> app.find_handler(request).handler_class.__name__
    'DashboardHandler'
    """
    identity = settings.identity
    hub = HubAPI(identity.hub_api_url, identity.token)
    manager = ClusterManager(settings.compute, settings.state_dir, hub, identity.prefix,
                             settings.environment)
    prefix = identity.prefix
    kwargs = {"manager": manager}
    handlers: list[tuple] = [
        (f"{prefix}oauth_callback", OAuthCallbackHandler),
        (f"{prefix}clusters/?", ClustersHandler, kwargs),
        (f"{prefix}clusters/([^/]+)/?", ClusterHandler, kwargs),
        (f"{prefix}clusters/([^/]+)/connection", ConnectionHandler, kwargs),
        (f"{prefix}clusters/([^/]+)/(.*/ws)", DashboardSocketHandler, kwargs),
        (f"{prefix}clusters/([^/]+)/(.*)", DashboardHandler, kwargs),
    ]
    for pattern, handler, *rest in extra_handlers:
        handlers.insert(1, (prefix + pattern.lstrip("/"), handler, *rest))
    auth = identity.oauth(cache_max_age=300)
    return web.Application(handlers, hub_auth=auth, manager=manager,
                           cookie_secret=os.urandom(32), xsrf_cookies=False,
                           login_url=auth.login_url)


class ComputeService(HostedService):
    """The service's life: rediscover clusters and listen, keep their lifecycles, stop."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config, self.identity = config, config.identity
        self._server: Any = None
        self._lifecycle: asyncio.Task | None = None

    async def listen(self) -> None:
        from wisehub.batch.api import handlers as batch_handlers

        app = make_app(self.config, extra_handlers=batch_handlers())  # .../jobs/...
        self.manager: ClusterManager = app.settings["manager"]
        await self.manager.rediscover()
        url = urlparse(self.identity.url)
        self._server = app.listen(url.port or 80, url.hostname or "127.0.0.1", xheaders=True)
        log.info("compute service listening on %s (%d clusters rediscovered)", url.geturl(),
                 len(self.manager.records))

    async def run(self) -> None:
        self._lifecycle = asyncio.create_task(self.manager.run())

    async def stop(self) -> None:
        if self._lifecycle is not None:
            self._lifecycle.cancel()
            await asyncio.gather(self._lifecycle, return_exceptions=True)
        if self._server is not None:
            self._server.stop()


def main() -> None:
    """Entry point of ``python -m wisehub.compute.service`` (a service the hub manages)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve_alone(ComputeService(ServiceConfig.from_environment())))


if __name__ == "__main__":
    main()
