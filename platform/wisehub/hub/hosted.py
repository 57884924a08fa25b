"""Hub services that run inside the hub's own process, or each in a process of its own.

A local hub (``wisehub up``) hosts its services (compute, publishing, share-sync, the idle
culler) in its own process, on its own event loop (:class:`wisehub.hub.app.WisehubHub`). Each
keeps its own hub identity: its name, API token, OAuth client and scopes, registered with
JupyterHub as an external service (:meth:`ServiceIdentity.registration`). A separate process
per service cost 30-130 MiB each, more than the hub itself, and one more process for the hub
to stop, one after the other, at shutdown.

In cluster mode the same services run as processes the hub manages (or as their own
deployment); :func:`serve_alone` runs one until SIGINT or SIGTERM, with its identity from the
``JUPYTERHUB_*`` variables the hub gives a managed service.

>>> identity = ServiceIdentity.new("compute", "http://127.0.0.1:10101",
...                                hub_api_url="http://127.0.0.1:8081/hub/api")
>>> identity.prefix, identity.registration()["oauth_client_id"], len(identity.token)
('/services/compute/', 'service-compute', 64)
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wisehub.hub.stopping import stop_signals

if TYPE_CHECKING:
    from jupyterhub.services.auth import HubOAuth

log = logging.getLogger("wisehub.hub")


@dataclass(frozen=True)
class ServiceIdentity:
    """Who a service is to the hub: its name, where it listens, and its API token."""

    name: str
    url: str
    """Where the service listens (``http://127.0.0.1:<port>``); "" for a service without
    web endpoints."""
    hub_api_url: str
    token: str
    prefix: str
    """The service's path on the hub's public URL (``/services/<name>/``)."""

    @classmethod
    def new(cls, name: str, url: str, hub_api_url: str) -> ServiceIdentity:
        """An identity with a fresh random token (a hosted service, for one hub run)."""
        return cls(name, url, hub_api_url, secrets.token_hex(32), f"/services/{name}/")

    @classmethod
    def from_environment(cls, name: str, default_url: str = "") -> ServiceIdentity:
        """The identity the hub hands its managed service ``name`` in ``JUPYTERHUB_*``
        variables."""
        return cls(name, os.environ.get("JUPYTERHUB_SERVICE_URL", default_url),
                   os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"],
                   os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{name}/"))

    def registration(self, **extra: Any) -> dict[str, Any]:
        """The service's ``c.JupyterHub.services`` entry: external, with its token (the hub
        registers its OAuth client ``service-<name>`` when it has a URL)."""
        entry: dict[str, Any] = {"name": self.name, "api_token": self.token, **extra}
        if self.url:
            entry.update(url=self.url, oauth_client_id=f"service-{self.name}")
        return entry

    def oauth(self, **options: Any) -> HubOAuth:
        """A ``HubOAuth`` for this service alone (not the process-wide ``.instance()``:
        several services share the hub's process). It accepts only tokens and logins that
        hold ``access:services!service=<name>``."""
        from jupyterhub.services.auth import HubOAuth

        return HubOAuth(api_url=self.hub_api_url, api_token=self.token,
                        oauth_client_id=f"service-{self.name}", base_url=self.prefix,
                        oauth_redirect_uri=f"{self.prefix}oauth_callback",
                        access_scopes={f"access:services!service={self.name}"}, **options)


class HostedService:
    """A hub service's life: ``listen`` (before the hub waits for its URL), ``run`` (once
    the hub's API answers), ``stop``. Subclasses override what they need."""

    identity: ServiceIdentity

    async def listen(self) -> None:
        """Open the service's web endpoints, if it has any."""

    async def run(self) -> None:
        """Start the service's background work (it may call the hub's API now)."""

    async def stop(self) -> None:
        """End the background work and close the endpoints."""


class PollingService(HostedService, ABC):
    """A service that does ``round()`` every ``interval`` seconds until stopped; a failed
    round is logged and the next one retries."""

    def __init__(self, identity: ServiceIdentity, interval: float) -> None:
        self.identity, self.interval = identity, interval
        self._task: asyncio.Task | None = None

    @abstractmethod
    async def round(self) -> None:
        """One round of the service's work."""

    async def run(self) -> None:
        self._task = asyncio.create_task(self._rounds(), name=f"{self.identity.name} rounds")

    async def _rounds(self) -> None:
        while True:
            try:
                await self.round()
            except Exception as err:  # the hub restarting, say; the next round retries
                log.warning("%s: round failed, retrying: %s", self.identity.name, err)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def serve_alone(service: HostedService) -> None:
    """Run ``service`` in this process until SIGINT or SIGTERM (a managed service); a signal
    that arrives while it starts stops it once it has started."""
    with stop_signals() as stop:
        await service.listen()
        await service.run()
        log.info("%s running", service.identity.name)
        await stop.wait()
    await service.stop()
    log.info("%s stopped", service.identity.name)
