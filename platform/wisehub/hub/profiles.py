"""Server profiles (small, medium, large, …), offered to users by group membership.

The same :class:`~wisehub.hub.settings.Profile` list drives the local spawners (through the
``options_form`` and ``apply_user_options`` hooks every JupyterHub spawner has) and KubeSpawner
(through its ``profile_list``, in :mod:`wisehub.hub.kube`).

>>> from wisehub.hub.settings import HubSettings
>>> [p.slug for p in offered(HubSettings().profiles, groups={"astro101"})]
['small', 'medium']
>>> [p.slug for p in offered(HubSettings().profiles, groups={"lab"})]
['small', 'medium', 'large']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from tornado import web

from wisehub.hub.settings import Profile


def offered(profiles: Iterable[Profile], groups: Iterable[str]) -> list[Profile]:
    """The profiles a member of ``groups`` may pick, in configured order."""
    mine = set(groups)
    return [p for p in profiles if not p.groups or mine & set(p.groups)]


def _user_groups(spawner: Any) -> set[str]:
    return {g.name for g in spawner.user.groups}


def choose(profiles: list[Profile], groups: Iterable[str], slug: str | None) -> Profile:
    """The profile ``slug`` if this user may use it (the first offered one if ``slug`` is None).

    Raises ``tornado.web.HTTPError(403)`` naming the profile when it is not offered to the user.

    >>> from wisehub.hub.settings import HubSettings
    >>> choose(HubSettings().profiles, ["lab"], "large").cpu
    4.0
    """
    allowed = offered(profiles, groups)
    if slug is None:
        if not allowed:
            raise web.HTTPError(403, "no server profile is offered to you; ask an admin")
        return allowed[0]
    for profile in allowed:
        if profile.slug == slug:
            return profile
    known = [p.slug for p in profiles]
    if slug in known:
        raise web.HTTPError(403, f"profile {slug!r} is restricted to other groups")
    raise web.HTTPError(400, f"unknown profile {slug!r}; choose one of {known}")


def options_form(profiles: list[Profile]) -> Callable[[Any], str]:
    """A ``Spawner.options_form`` callable: radio buttons for the profiles this user may pick."""

    def form(spawner: Any) -> str:
        rows = []
        for i, p in enumerate(offered(profiles, _user_groups(spawner))):
            checked = " checked" if i == 0 else ""
            rows.append(
                f'<div class="form-check"><input class="form-check-input" type="radio" '
                f'name="profile" id="profile-{p.slug}" value="{p.slug}"{checked}>'
                f'<label class="form-check-label" for="profile-{p.slug}">'
                f"<strong>{escape(p.display_name)}</strong> {escape(p.description)}</label></div>"
            )
        return "\n".join(rows)

    return form


def apply_user_options(profiles: list[Profile]) -> Callable[[Any, dict], None]:
    """A ``Spawner.apply_user_options`` callable for local spawners: check and apply a profile.

    Limits are advertised to the server (``MEM_LIMIT``/``CPU_LIMIT``, as JupyterHub does) and
    size ``wh.cluster()`` through ``WISEHUB_DASK_WORKERS``; local processes are not confined.
    """

    def apply(spawner: Any, user_options: dict) -> None:
        slug = user_options.get("profile")
        profile = choose(profiles, _user_groups(spawner), slug if slug else None)
        spawner.cpu_limit = profile.cpu
        spawner.mem_limit = profile.memory
        spawner.environment = {
            **spawner.environment,
            "WISEHUB_PROFILE": profile.slug,
            "WISEHUB_DASK_WORKERS": str(profile.dask_workers),
        }

    return apply
