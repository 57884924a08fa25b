"""A kernel websocket that breaks while code runs, between HubClient and a real hub.

Starts: the session hub (tests/hub/conftest.py) and a TCP relay in front of its proxy, which
corrupts the first kernel-channels connection the way the 50-user benchmark once saw it: a
frame header with reserved bits set, which aiohttp refuses ("Received frame with non-zero
reserved bits") and which ends the connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from hubtools import client, run, unique
from relay import Relay
from wisehub.hub.client import HubClient, HubError
from wisehub.hub.launcher import RunningHub

pytestmark = pytest.mark.hub

BAD_FRAME = bytes([0xF1, 0x00])  # FIN, RSV1-3 set, text, no payload: no client may accept it
CODE = ("import time\nprint('before', flush=True)\ntime.sleep(3)\nprint('after', flush=True)\n"
        "_ = open('ran-{tag}.txt', 'w').write('ran')")


class BreakingRelay(Relay):
    """Breaks the first kernel-channels connection once ``marker`` has passed. With
    ``lose_rest``, what the server sends after the marker is dropped until the kernel is idle
    again, and only then is the bad frame sent: the server believes all of it delivered."""

    def __init__(self, target_port: int, marker: bytes, lose_rest: bool) -> None:
        self.marker, self.lose_rest = marker, lose_rest
        self.state = "waiting"  # then "losing", then "broken"
        self.seen = b""
        super().__init__(target_port)

    def channels(self) -> int:
        """How many kernel-channels connections the client opened."""
        return sum(bytes(r).count(b"/channels") for r in self.requests)

    def from_server(self, request: bytes, sent: int, data: bytes) -> tuple[bytes, bool]:
        if self.state == "broken" or b"/channels" not in request:
            return data, False
        if self.state == "waiting":
            self.seen = (self.seen + data)[-4096:]
            if self.marker not in self.seen:
                return data, False
            if not self.lose_rest:
                self.state = "broken"
                return data + BAD_FRAME, False
            self.state, self.seen = "losing", b""
            return data, False
        self.seen = (self.seen + data)[-4096:]  # losing: drop it, until the kernel is idle
        if b'"execution_state": "idle"' in self.seen:
            self.state = "broken"
            return BAD_FRAME, False
        return b"", False


@pytest.fixture
def breaking(hub: RunningHub, request: pytest.FixtureRequest) -> Iterator[BreakingRelay]:
    relay = BreakingRelay(urlparse(hub.url).port, b"before", lose_rest=request.param)
    yield relay
    relay.close()


def run_through(hub: RunningHub, relay: BreakingRelay, tag: str) -> tuple[str | Exception, str]:
    """Run CODE in a new kernel through the relay: (its output or the error, what the file
    the code writes holds, read back by a kernel reached directly)."""
    user = unique("reconnect")

    async def scenario() -> tuple[str | Exception, str]:
        async with client(hub) as api:
            await api.create_user(user)
            await api.spawn(user)
            try:
                relayed = HubClient(f"http://127.0.0.1:{relay.port}/", hub.token)
                async with relayed, relayed.kernel(user) as kernel:
                    try:
                        outcome: str | Exception = await kernel.run(CODE.format(tag=tag),
                                                                    timeout=60)
                    except HubError as err:
                        outcome = err
                assert relayed.reconnects == 1
                written = await api.run_code(user, f"print(open('ran-{tag}.txt').read())")
            finally:
                await api.stop(user)
            return outcome, written.strip()

    return run(scenario())


@pytest.mark.parametrize("breaking", [False], indirect=True)
def test_a_broken_kernel_websocket_is_connected_again_and_nothing_is_lost(hub, breaking):
    outcome, written = run_through(hub, breaking, "replayed")
    assert breaking.state == "broken"
    assert outcome == "before\nafter\n"  # "after" came replayed by the server
    assert breaking.channels() == 2 and written == "ran"


@pytest.mark.parametrize("breaking", [True], indirect=True)
def test_output_lost_with_a_broken_websocket_is_an_error_not_a_hang(hub, breaking):
    outcome, written = run_through(hub, breaking, "lost")
    assert isinstance(outcome, HubError), outcome
    assert "part of its output was lost" in str(outcome) and "'before\\n'" in str(outcome)
    assert "not run again" in str(outcome)
    assert breaking.channels() == 2 and written == "ran"  # it ran once, to its end
