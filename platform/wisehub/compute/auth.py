"""The base of every compute-service handler: the caller, authenticated by the hub.

A request carries the user's hub token (``Authorization: token …``) or the service's OAuth
cookie; the token must hold ``access:services!service=compute``. The caller's admin flag and
groups then come from the hub itself (with the service's own token), not from the request.
"""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.services.auth import UserNotAllowed
from tornado import web
from tornado.httpclient import HTTPClientError

from wisehub.compute.hubapi import HubUser
from wisehub.compute.manager import ClusterManager
from wisehub.hub.service_auth import ApplicationHubAuth


class AuthenticatedHandler(ApplicationHubAuth, web.RequestHandler):
    """A handler that knows its caller: ``self.hub_user`` (name, admin, groups, server)."""

    hub_user: HubUser
    browser_login = False
    """GET without credentials goes to the hub's login (True) or gets a 403 (False)."""

    def initialize(self, manager: ClusterManager) -> None:
        self.manager = manager

    async def prepare(self) -> None:
        try:
            model = await self.hub_auth.get_user(self, sync=False)
            model = self.check_hub_user(model) if model else None
        except UserNotAllowed:
            model = None
        except (OSError, HTTPClientError) as err:
            raise web.HTTPError(503, f"the hub did not answer in time ({err}); try again"
                                ) from None
        self._hub_auth_user_cache = model
        if model is None or model.get("kind", "user") != "user":
            if self.browser_login and self.request.method == "GET":
                self.redirect(self.get_login_url())
                return
            raise web.HTTPError(403, "a valid hub token of a user, with scope "
                                     "access:services!service=compute, is needed")
        try:
            found = await self.manager.hub.user(model["name"])
        except (OSError, HTTPClientError) as err:
            raise web.HTTPError(503, f"the hub did not answer in time ({err}); try again"
                                ) from None
        if found is None:
            raise web.HTTPError(403, f"the hub does not know user {model['name']!r}")
        self.hub_user = found

    def check_xsrf_cookie(self) -> None:
        # API calls carry a token header (no cookie, so no cross-site risk).
        if not self.request.headers.get("Authorization"):
            super().check_xsrf_cookie()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        message = error.log_message if isinstance(error, web.HTTPError) else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message or self._reason}))


