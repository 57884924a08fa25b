"""A TCP relay between a client and a real service, for tests of what the network does to a
connection: subclasses decide what of the server's bytes reach the client."""

from __future__ import annotations

import asyncio
import threading


class Relay:
    """Relays 127.0.0.1:``port`` to 127.0.0.1:``target_port``, on an event loop in a thread of
    its own. :meth:`from_server` sees every piece the server sends back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.requests: list[bytearray] = []  # each connection's first client bytes
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def from_server(self, request: bytes, sent: int, data: bytes) -> tuple[bytes, bool]:
        """What to pass on of ``data``, a piece of what the server sends on a connection
        whose client has sent ``request`` so far (its first 64 KiB), after ``sent`` bytes;
        and whether to close the connection then. Here: all of it, and keep it open."""
        return data, False

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        request = bytearray()
        self.requests.append(request)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, inspect: bool):
            sent = 0
            while data := await src.read(1 << 16):
                if inspect:
                    passed, close = self.from_server(bytes(request), sent, data)
                else:
                    request.extend(data[:max(0, (1 << 16) - len(request))])
                    passed, close = data, False
                dst.write(passed)
                await dst.drain()
                sent += len(data)
                if close:
                    break
            for writer in (client_w, server_w):
                writer.close()

        await asyncio.gather(pipe(client_r, server_w, False), pipe(server_r, client_w, True),
                             return_exceptions=True)

    async def _shut(self) -> None:
        self.server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    def close(self) -> None:
        """Stop relaying and end the relay's thread."""
        asyncio.run_coroutine_threadsafe(self._shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
