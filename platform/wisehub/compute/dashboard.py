"""The dashboard of each cluster, proxied by the compute service to the cluster's owner only.

The scheduler serves its dashboard (on 127.0.0.1, or at its Service in Kubernetes) under the
prefix ``/services/compute/clusters/<id>``, so the page, its assets and its websocket keep working
unchanged behind the hub's proxy; this module forwards them after checking the caller.
"""

from __future__ import annotations

from typing import Any

from tornado import web, websocket

from wisehub.compute.auth import AuthenticatedHandler
from wisehub.compute.manager import NotFound

FORWARDED_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "If-None-Match")
HOP_HEADERS = {"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
               "Content-Encoding", "Set-Cookie"}


class _Owned:
    """The target of a dashboard request: the caller's own cluster, else 404."""

    def upstream(self: Any, cluster_id: str, scheme: str = "http") -> str:
        try:
            record = self.manager.get(self.hub_user, cluster_id, own=True)
        except NotFound as err:
            raise web.HTTPError(404, str(err)) from None
        base = self.manager.backend.dashboard_url(record)
        if base is None:
            raise web.HTTPError(503, f"cluster {cluster_id} has no dashboard yet")
        return f"{scheme}{base.removeprefix('http')}{self.request.uri}"


class DashboardHandler(_Owned, AuthenticatedHandler):
    """Plain HTTP pages and assets of the dashboard."""

    browser_login = True

    async def get(self, cluster_id: str, _path: str) -> None:
        headers = {k: v for k in FORWARDED_HEADERS if (v := self.request.headers.get(k))}
        try:
            reply = await self.manager.hub.http.fetch(
                self.upstream(cluster_id), headers=headers, follow_redirects=False,
                raise_error=False, request_timeout=60, decompress_response=True)
        except OSError as err:
            raise web.HTTPError(502, f"the dashboard of {cluster_id} does not answer: {err}"
                                ) from None
        self.set_status(reply.code, reply.reason)
        for name, value in reply.headers.get_all():
            if name not in HOP_HEADERS:
                self.set_header(name, value)
        self.finish(reply.body or b"")


class DashboardSocketHandler(_Owned, AuthenticatedHandler, websocket.WebSocketHandler):
    """The dashboard's websocket (Bokeh's live updates), relayed both ways."""

    upstream_socket: websocket.WebSocketClientConnection | None = None
    target: str = ""

    async def get(self, cluster_id: str, path: str) -> None:
        # Refuse another's cluster before the handshake (a 404), not after it.
        self.target = self.upstream(cluster_id, "ws")
        await super().get(cluster_id, path)

    async def open(self, cluster_id: str, _path: str) -> None:
        self.upstream_socket = await websocket.websocket_connect(
            self.target, on_message_callback=self._from_upstream,
            subprotocols=self.request.headers.get("Sec-WebSocket-Protocol", "").split(", ")
            if self.request.headers.get("Sec-WebSocket-Protocol") else None)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[0] if subprotocols else None

    def _from_upstream(self, message: str | bytes | None) -> None:
        if message is None:
            self.close()
        else:
            self.write_message(message, binary=isinstance(message, bytes))

    async def on_message(self, message: str | bytes) -> None:
        if self.upstream_socket is not None:
            await self.upstream_socket.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self.upstream_socket is not None:
            self.upstream_socket.close()
