"""The demo authenticator: upstream's shared-password login, refusing to serve beyond loopback.

It exists so that ``wisehub up`` works without accounts on a laptop or in a class room on one
machine. Real installations use NativeAuthenticator (local) or OAuthenticator (cluster).

>>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
(True, True, False)
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

DEMO_BANNER = (
    "<b>Demo login</b> (wisehub up): any user from the class list, with the shared demo "
    "password printed by <code>wisehub up</code>. Not for real use."
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only reaches this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DemoAuthenticator(SharedPasswordAuthenticator):
    """SharedPasswordAuthenticator that will not start unless the hub listens on loopback only."""

    def check_allow_config(self) -> None:
        super().check_allow_config()
        app = self.parent
        bind = urlparse(app.bind_url).hostname if app is not None else None
        if bind is None or not is_loopback(bind):
            raise ValueError(
                f"the demo authenticator only serves on loopback, but the hub binds to {bind!r}; "
                "set hub.ip to 127.0.0.1, or hub.authenticator to 'native' for a real installation"
            )
