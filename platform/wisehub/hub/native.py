"""NativeAuthenticator (sign-up with admin approval), made to work with JupyterHub 6.

NativeAuthenticator 1.3.0 times logins with ``handler.statsd``, which JupyterHub 6 removed
(jupyterhub/jupyterhub#5407), so every login fails with a 500. Until a fixed release exists,
its login handler gets a do-nothing ``statsd``; everything else is upstream's.

>>> NativeAuthenticator.__mro__[1].__module__
'nativeauthenticator.nativeauthenticator'
"""

from __future__ import annotations

from typing import Any

from nativeauthenticator import NativeAuthenticator as UpstreamNativeAuthenticator
from nativeauthenticator.handlers import LoginHandler


class _NoTiming:
    """Stands in for the statsd client JupyterHub 6 no longer gives handlers."""

    def timer(self, name: str) -> _NoTiming:
        return self

    def start(self) -> _NoTiming:
        return self

    def stop(self, send: bool = True) -> None:
        return None


class _LoginHandler(LoginHandler):
    statsd = _NoTiming()


class NativeAuthenticator(UpstreamNativeAuthenticator):
    """Upstream NativeAuthenticator with a login handler that runs on JupyterHub 6."""

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        return [(path, _LoginHandler if handler is LoginHandler else handler)
                for path, handler in super().get_handlers(app)]
