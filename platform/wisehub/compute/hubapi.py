"""The hub's REST API as the compute service sees it: who a user is, and whether their
server runs. Calls use the service's own token (``JUPYTERHUB_API_TOKEN`` of the service).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

log = logging.getLogger("wisehub.compute")


@dataclass(frozen=True)
class HubUser:
    """What the service needs of a hub user."""

    name: str
    admin: bool
    groups: frozenset[str]
    server_started: str | None
    """When the user's default server started (None: no server running)."""


class HubAPI:
    """Read users from the hub at ``api_url`` with ``token``, caching each for ``max_age``
    seconds (so a change of groups applies within that); server checks ask afresh.

    An answer older than ``max_age`` (but younger than ``max_stale``) is still used while a
    fresh one is fetched in the background, so requests never wait for the hub (which is
    slow exactly when many users are busy at once). Changes apply one request later."""

    def __init__(self, api_url: str, token: str, max_age: float = 30,
                 max_stale: float = 300) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.max_age = max_age
        self.max_stale = max_stale
        self._cache: dict[str, tuple[float, HubUser | None]] = {}
        self._refreshing: dict[str, asyncio.Task] = {}

    @cached_property
    def http(self) -> AsyncHTTPClient:
        """The service's own HTTP client, not the process-wide one (the service may share the
        hub's process): as many concurrent calls as callers, not tornado's default 10."""
        return AsyncHTTPClient(force_instance=True, max_clients=100)

    async def user(self, name: str, fresh: bool = False) -> HubUser | None:
        """The user ``name`` (None if the hub does not know them)."""
        cached = self._cache.get(name)
        if cached and not fresh:
            age = time.monotonic() - cached[0]
            if age < self.max_age:
                return cached[1]
            if age < self.max_stale:
                if name not in self._refreshing:
                    task = asyncio.create_task(self._fetch(name))
                    self._refreshing[name] = task
                    task.add_done_callback(lambda done: self._refreshed(name, done))
                return cached[1]
        return await self._fetch(name)

    def _refreshed(self, name: str, task: asyncio.Task) -> None:
        self._refreshing.pop(name, None)
        if not task.cancelled() and task.exception() is not None:
            log.warning("refreshing hub user %s failed: %s", name, task.exception())

    async def _fetch(self, name: str) -> HubUser | None:
        try:
            reply = await self.http.fetch(
                f"{self.api_url}/users/{quote(name)}", request_timeout=120,
                headers={"Authorization": f"token {self.token}"})
        except HTTPClientError as err:
            if err.code != 404:
                raise
            found = None
        else:
            found = self._user(json.loads(reply.body))
        self._cache[name] = (time.monotonic(), found)
        return found

    async def running_servers(self) -> dict[str, str | None]:
        """Every user whose default server runs (or starts), with when it started: one
        paginated listing instead of a call per user.

        Also refreshes the cache of the users it lists."""
        found: dict[str, str | None] = {}
        offset = 0
        while True:
            reply = await self.http.fetch(
                f"{self.api_url}/users?state=active&offset={offset}&limit=200",
                request_timeout=120,
                headers={"Authorization": f"token {self.token}",
                         "Accept": "application/jupyterhub-pagination+json"})
            page = json.loads(reply.body)
            items = page["items"] if isinstance(page, dict) else page
            now = time.monotonic()
            for model in items:
                server = (model.get("servers") or {}).get("")
                if server is None:
                    continue
                user = self._user(model)
                found[user.name] = user.server_started
                self._cache[user.name] = (now, user)
            following = page.get("_pagination", {}).get("next") if isinstance(page, dict) \
                else None
            if not following or not items:
                return found
            offset = following["offset"]

    @staticmethod
    def _user(model: dict) -> HubUser:
        server = (model.get("servers") or {}).get("")
        return HubUser(model["name"], bool(model.get("admin")),
                       frozenset(model.get("groups") or []),
                       server.get("started") if server else None)
