"""A small async client for a running hub: users, groups, servers, tokens, and kernel code.

Used by the tests, the benchmark and scripts that drive a hub the way users do: create a user,
spawn their server, and run code in a kernel over the kernel websocket.

Against a running hub (tests/hub drive one this way)::

    async with HubClient(url, token) as hub:
        await hub.create_user("ann")
        await hub.spawn("ann")
        await hub.run_code("ann", "print(6 * 7)")  # '42\\n'
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class HubError(RuntimeError):
    """A hub or kernel call failed; the message has the status and the hub's reason."""


class KernelError(HubError):
    """Code raised in the kernel; the message holds the traceback."""


class HubClient:
    """Talk to the hub at ``url`` (public URL, ending in ``/``) with an admin ``token``."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.reconnects = 0  # kernel websockets connected again after a break (Kernel.run)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HubClient:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:
        assert self._session is not None
        await self._session.close()

    async def request(self, method: str, path: str, token: str | None = None,
                      json_body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)
                      ) -> Any:
        """Call ``<url><path>`` with a token; return the decoded JSON (or None)."""
        assert self._session is not None, "use `async with HubClient(...)`"
        headers = {"Authorization": f"token {token or self.token}"}
        async with self._session.request(method, self.url + path.lstrip("/"), json=json_body,
                                         headers=headers) as reply:
            body = await reply.text()
            if reply.status not in ok:
                raise HubError(f"{method} {path}: {reply.status} {body[:500]}")
            return json.loads(body) if body else None

    async def api(self, method: str, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        """Call the hub REST API (``/hub/api<path>``)."""
        return await self.request(method, f"hub/api{path}", json_body=json_body, **kwargs)

    async def create_user(self, name: str) -> None:
        """Create ``name`` if missing."""
        await self.api("POST", f"/users/{quote(name)}", ok=(201, 409))

    async def create_group(self, name: str, members: list[str]) -> None:
        """Create group ``name`` (if missing) and add ``members``."""
        await self.api("POST", f"/groups/{quote(name)}", ok=(201, 409))
        await self.api("POST", f"/groups/{quote(name)}/users", {"users": members})

    async def spawn(self, name: str, options: dict | None = None, timeout: float = 90) -> None:
        """Start ``name``'s default server with ``options`` and wait until it is ready."""
        await self.api("POST", f"/users/{quote(name)}/server", options or {})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = (await self.api("GET", f"/users/{quote(name)}"))["servers"].get("")
            if server and server["ready"]:
                return
            if server is None:
                raise HubError(f"{name}'s server failed to start; see the hub log")
            await asyncio.sleep(0.25)
        raise HubError(f"{name}'s server was not ready within {timeout:.0f} s")

    async def stop(self, name: str, timeout: float = 60) -> None:
        """Stop ``name``'s default server and wait until it is gone."""
        await self.api("DELETE", f"/users/{quote(name)}/server", ok=(202, 204, 400))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not (await self.api("GET", f"/users/{quote(name)}"))["servers"]:
                return
            await asyncio.sleep(0.25)
        raise HubError(f"{name}'s server did not stop within {timeout:.0f} s")

    async def token_for(self, name: str, scopes: list[str] | None = None) -> str:
        """A fresh API token for ``name`` (their own permissions unless ``scopes``)."""
        body: dict[str, Any] = {"note": "wisehub client", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        return (await self.api("POST", f"/users/{quote(name)}/tokens", body))["token"]

    @asynccontextmanager
    async def kernel(self, owner: str, token: str | None = None) -> AsyncIterator[Kernel]:
        """A new kernel on ``owner``'s server, deleted when the block ends."""
        base = f"user/{quote(owner)}/api/kernels"
        model = await self.request("POST", base, token=token, json_body={"name": "python3"})
        try:
            yield Kernel(self, f"{base}/{model['id']}", token)
        finally:
            await self.request("DELETE", f"{base}/{model['id']}", token=token, ok=(204, 404))

    async def run_code(self, owner: str, code: str, token: str | None = None,
                       timeout: float = 120) -> str:
        """Run ``code`` in a new kernel on ``owner``'s server; return its printed output."""
        async with self.kernel(owner, token) as kernel:
            return await kernel.run(code, timeout)


RECONNECTS = 3
"""How often :meth:`Kernel.run` connects again to a kernel websocket that broke."""


class Kernel:
    """A kernel on a user server, driven over its websocket."""

    def __init__(self, hub: HubClient, path: str, token: str | None) -> None:
        self.hub, self.path, self.token = hub, path, token

    async def run(self, code: str, timeout: float = 120) -> str:
        """Execute ``code``; return what it printed (and its result's text).

        A websocket that breaks while the code runs (the network, a proxy, a frame the client
        cannot read) is connected again with the same session, as JupyterLab does, and the
        server replays what the kernel sent meanwhile. If output was lost with the broken
        connection, :class:`HubError` says so; the code is never run twice.

        Raises :class:`KernelError` with the traceback if the code fails.
        """
        return await asyncio.wait_for(_Execution(self, code).run(), timeout)


def _message(session_id: str, msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "",
                       "session": session_id, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "content": content}


class _Execution:
    """One ``execute_request`` and the messages that answer it, over as many connections of
    the kernel websocket as it takes."""

    def __init__(self, kernel: Kernel, code: str) -> None:
        self.kernel = kernel
        self.session_id = uuid.uuid4().hex  # the server buffers and replays by this id
        self.request = _message(self.session_id, "execute_request", {
            "code": code, "silent": False, "store_history": False, "user_expressions": {},
            "allow_stdin": False})
        self.out: list[str] = []
        self.sent = False
        self.probe: str | None = None  # a kernel_info_request sent after a reconnect

    async def run(self) -> str:
        """Send the request; the output once the kernel is idle again."""
        hub = self.kernel.hub
        url = (hub.url.replace("http", "ws", 1) + self.kernel.path
               + f"/channels?session_id={self.session_id}")
        headers = {"Authorization": f"token {self.kernel.token or hub.token}"}
        broken = ""
        for attempt in range(RECONNECTS + 1):
            if attempt:
                hub.reconnects += 1
                await asyncio.sleep(0.2 * 2 ** attempt)
            try:
                if (done := await self._connection(url, headers)) is not None:
                    return done
                broken = "closed by the server"
            except aiohttp.ClientError as err:
                if not self.sent:  # nothing was sent: a refused connection is the answer
                    raise
                broken = repr(err)
        raise HubError(f"the kernel websocket broke {RECONNECTS + 1} times before the code "
                       f"finished (last: {broken})")

    async def _connection(self, url: str, headers: dict[str, str]) -> str | None:
        """One connection: the output if the execution ended on it, None if it broke."""
        session = self.kernel.hub._session
        assert session is not None
        # No permessage-deflate: aiohttp 3.14 dropped a compressed frame that follows the
        # server's ping (aio-libs/aiohttp#13274), and on a loopback or LAN compression saves
        # nothing.
        async with session.ws_connect(url, headers=headers, compress=0) as ws:
            if not self.sent:
                await ws.send_json(self.request)
                self.sent = True
            else:
                # The shell answers in order: once this request's status is idle, every
                # message of the execution has been sent, replayed or lost.
                probe = _message(self.session_id, "kernel_info_request", {})
                self.probe = probe["header"]["msg_id"]
                await ws.send_json(probe)
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.ERROR:  # a frame it could not read
                    raise aiohttp.ClientPayloadError(repr(frame.data))
                if frame.type != aiohttp.WSMsgType.TEXT:
                    raise HubError(f"the kernel websocket sent {frame.type.name} "
                                   f"{frame.data!r}")
                if (done := self._take(json.loads(frame.data))) is not None:
                    return done
        return None

    def _take(self, msg: dict[str, Any]) -> str | None:
        """Handle one message; the output once the execution is over, else None."""
        parent = msg.get("parent_header", {}).get("msg_id")
        kind, content = msg["msg_type"], msg["content"]
        idle = kind == "status" and content["execution_state"] == "idle"
        if parent == self.probe and idle:
            raise HubError("the kernel websocket broke while the code ran and part of its "
                           f"output was lost with it (received: {''.join(self.out)!r}); the "
                           "code ran to its end, and was not run again")
        if parent != self.request["header"]["msg_id"]:
            return None
        if kind == "stream":
            self.out.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            self.out.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            raise KernelError(ANSI.sub("", "\n".join(content["traceback"])))
        elif idle:
            return "".join(self.out)
        return None


@asynccontextmanager
async def logged_in(url: str, user: str, password: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session logged in through the hub's login form, as a browser would be.

    Against a running hub::

        async with logged_in(url, "pupil1", "demo-password") as browser:
            async with browser.get(url + "hub/spawn") as reply:
                page = await reply.text()
    """
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar,
                                     timeout=aiohttp.ClientTimeout(total=120)) as browser:
        async with browser.get(f"{url}hub/login") as reply:
            reply.raise_for_status()
        xsrf = next((c.value for c in jar if c.key == "_xsrf"), "")
        form = {"username": user, "password": password, "_xsrf": xsrf}
        async with browser.post(f"{url}hub/login", data=form, allow_redirects=False) as reply:
            if reply.status != 302:
                raise HubError(f"login of {user} failed: {reply.status}")
        yield browser

