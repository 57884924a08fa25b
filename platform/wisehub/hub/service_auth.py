"""Handlers that authenticate with their own application's ``HubOAuth``.

Upstream's handlers find one process-wide ``HubOAuth`` (``HubOAuth.instance()``, configured
from ``JUPYTERHUB_*`` variables). Services hosted together in the hub's process each have
their own identity, so their handlers take the ``hub_auth`` of their application's settings
(see :meth:`wisehub.hub.hosted.ServiceIdentity.oauth`).

They also identify the caller before the request runs, without blocking: upstream's
``get_current_user`` asks the hub synchronously, waiting in a thread for the answer, and in the
hub's own process that answer needs the very event loop that waits.

>>> OAuthCallbackHandler.__mro__[1].__name__
'ApplicationHubAuth'
"""

from __future__ import annotations

from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed


class ApplicationHubAuth(HubOAuthenticated):
    """Mixin for a tornado handler: its ``hub_auth`` is ``settings["hub_auth"]``."""

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]

    async def prepare(self) -> None:
        """Look the caller up (token or OAuth cookie) on the running loop; what
        ``get_current_user`` then answers (None: anonymous, or not allowed)."""
        if self.hub_auth is None:  # an application serving anonymous visitors only
            return
        model = await self.hub_auth.get_user(self, sync=False)
        try:
            self._hub_auth_user_cache = self.check_hub_user(model) if model else None
        except UserNotAllowed:
            self._hub_auth_user_cache = None


class OAuthCallbackHandler(ApplicationHubAuth, HubOAuthCallbackHandler):
    """The OAuth callback (``<prefix>oauth_callback``) of the application's service."""
