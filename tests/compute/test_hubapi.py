"""The service's view of the hub: cached users (answered at once while a fresh answer is
fetched) and one paginated listing of running servers. Against a small tornado app that
answers as the hub's REST API does (the real hub is in test_service.py)."""

from __future__ import annotations

import asyncio
import json
import socket

from tornado import web
from wisehub.compute.hubapi import HubAPI


class Hub:
    """What the hub stand-in holds, and how often it was asked."""

    def __init__(self) -> None:
        self.groups = ["astro"]
        self.asked = 0


def app(hub: Hub) -> web.Application:
    class User(web.RequestHandler):
        def get(self, name: str) -> None:
            hub.asked += 1
            self.write({"name": name, "admin": False, "groups": hub.groups, "servers": {}})

    class Users(web.RequestHandler):
        def get(self) -> None:
            assert self.get_argument("state") == "active"
            assert self.request.headers["Accept"] == "application/jupyterhub-pagination+json"
            offset = int(self.get_argument("offset"))
            everyone = [{"name": f"u{i}", "groups": [], "servers": {
                "": {"started": f"2026-12-02T0{i}:00:00Z"}}} for i in range(3)]
            page = everyone[offset:offset + 2]
            following = {"offset": offset + 2} if offset + 2 < len(everyone) else None
            self.write(json.dumps({"items": page, "_pagination": {"next": following}}))

    return web.Application([(r"/hub/api/users", Users), (r"/hub/api/users/([^/]+)", User)])


def test_users_are_answered_from_cache_while_refreshed_and_servers_listed_in_pages():
    async def scenario() -> None:
        hub = Hub()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = app(hub).listen(port, "127.0.0.1")
        try:
            api = HubAPI(f"http://127.0.0.1:{port}/hub/api", "t", max_age=600)
            assert (await api.user("ada")).groups == {"astro"} and hub.asked == 1
            assert (await api.user("ada")).groups == {"astro"} and hub.asked == 1
            hub.groups = ["astro", "lab"]
            api.max_age = 0.2
            await asyncio.sleep(0.3)
            # Stale: answered at once with what was known, refreshed behind the scenes.
            assert (await api.user("ada")).groups == {"astro"}
            api.max_age = 600  # from here on, answers stay fresh (a busy machine is slow)
            for _ in range(200):
                if hub.asked == 2:
                    break
                await asyncio.sleep(0.05)
            assert hub.asked == 2
            assert (await api.user("ada")).groups == {"astro", "lab"}
            assert (await api.user("ada", fresh=True)).groups == {"astro", "lab"}
            assert hub.asked == 3
            assert await api.running_servers() == {
                f"u{i}": f"2026-12-02T0{i}:00:00Z" for i in range(3)}
        finally:
            server.stop()

    asyncio.run(scenario())
