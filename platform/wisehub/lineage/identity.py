"""Who the lineage user is: the hub says so inside a user server, the database role enforces it.

- Inside a JupyterHub user server, :func:`platform_context` asks the hub
  (``GET {JUPYTERHUB_API_URL}/user`` with the server's ``JUPYTERHUB_API_TOKEN``) for the
  user's name and groups; ``WISEHUB_USER`` and ``WISEHUB_GROUPS`` are ignored there.
- Outside a hub (a laptop, CI) the settings' user is the identity: the local OS user unless
  ``WISEHUB_USER`` says otherwise. That is single-user trust, like the SQLite store itself.
- Connected to PostgreSQL as a platform user's role (:mod:`wisehub.lineage.roles`),
  :func:`database_context` takes the user from the role and the groups and projects from the
  hub-written ``lineage_members`` table, whatever the process was told.

>>> from wisehub.lineage.context import Context
>>> platform_context_from(Context("ada"), env={}).user
'ada'
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

from wisehub.lineage.context import Context

if TYPE_CHECKING:
    from wisehub.config import Settings

USERS_ROLE = "wisehub_users"


class IdentityError(RuntimeError):
    """The hub could not tell who this server's user is; the message says why."""


def hub_identity(api_url: str, token: str, *, timeout: float = 10.0) -> tuple[str, tuple[str, ...]]:
    """``(name, groups)`` of the token's user, from the hub's REST API.

    In a user server, ``hub_identity(os.environ["JUPYTERHUB_API_URL"],
    os.environ["JUPYTERHUB_API_TOKEN"])`` gives for example ``('ada', ('lab',))``. A hub that
    does not answer is an error that says where it asked:

    >>> hub_identity("http://127.0.0.1:9/hub/api", "token", timeout=1)
    Traceback (most recent call last):
    ...
    wisehub.lineage.identity.IdentityError: could not ask the hub at http://127.0.0.1:9/hub/api ...
    """
    request = urllib.request.Request(api_url.rstrip("/") + "/user",
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            model = json.load(response)
    except (OSError, ValueError) as error:  # never echo the token
        raise IdentityError(f"could not ask the hub at {api_url} who this server's user is: "
                            f"{error}") from None
    if model.get("kind", "user") != "user" or not model.get("name"):
        raise IdentityError(f"the hub at {api_url} says this server's token is not a user's")
    return str(model["name"]), tuple(sorted(model.get("groups") or ()))


def platform_context_from(context: Context, env: Mapping[str, str] | None = None) -> Context:
    """``context`` with user and groups from the hub when running in a user server.

    ``context`` keeps its privilege, projects, and its write group if the hub lists it.
    """
    env = os.environ if env is None else env
    token, api_url = env.get("JUPYTERHUB_API_TOKEN"), env.get("JUPYTERHUB_API_URL")
    if not (token and api_url):
        return context
    user, groups = hub_identity(api_url, token)
    return _replaced(context, user, groups, context.projects)


def platform_context(settings: Settings) -> Context:
    """The lineage context of this process: settings, corrected by the hub inside a server."""
    return platform_context_from(Context.from_settings(settings))


def database_context(engine: Engine, context: Context) -> Context:
    """``context`` with the identity of the database role, if it is a platform user's role."""
    if engine.dialect.name != "postgresql":
        return context
    with engine.connect() as conn:
        user, is_platform_user = conn.execute(text(
            "SELECT current_user, EXISTS (SELECT 1 FROM pg_auth_members m "
            "JOIN pg_roles g ON g.oid = m.roleid AND g.rolname = :role "
            "JOIN pg_roles u ON u.oid = m.member AND u.rolname = current_user)"),
            {"role": USERS_ROLE}).one()
        if not is_platform_user:
            return context  # the hub's or an operator's role: trusted as told
        teams = conn.execute(text("SELECT kind, name FROM lineage_members "
                                  "WHERE username = current_user ORDER BY name")).all()
    groups = tuple(name for kind, name in teams if kind == "group")
    projects = tuple(name for kind, name in teams if kind == "project")
    return _replaced(context, user, groups, projects)


def _replaced(context: Context, user: str, groups: tuple[str, ...],
              projects: tuple[str, ...]) -> Context:
    if (user, groups, projects) == (context.user, context.groups, context.projects):
        return context
    return Context(user, groups, projects, privilege=context.privilege,
                   group=context.group if context.group in groups else None,
                   project=context.project if context.project in projects else None)
