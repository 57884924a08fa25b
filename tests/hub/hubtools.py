"""Helpers for the hub tests: run async scenarios, admin clients, logins, unique names."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from wisehub.config import Settings
from wisehub.hub.client import HubClient, HubError, logged_in
from wisehub.hub.launcher import RunningHub

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async scenario from a (sync) test."""
    return asyncio.run(coro)


def client(hub: RunningHub) -> HubClient:
    """An admin client for ``hub`` (use with ``async with``)."""
    return HubClient(hub.url, hub.token)


async def can_log_in(url: str, user: str, password: str) -> bool:
    """Whether ``user`` gets in through the hub's login form with ``password``."""
    try:
        async with logged_in(url, user, password):
            return True
    except HubError:
        return False


def unique(prefix: str) -> str:
    """A user or group name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def first_tutorial(settings: Settings) -> Path:
    """The tutorial a new user sees first, relative to their home (e.g. tutorials/01-….ipynb)."""
    folder = settings.hub.notebooks[0]
    return Path(folder.name) / sorted(folder.rglob("*.ipynb"))[0].relative_to(folder)
