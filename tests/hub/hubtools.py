"""Helpers for the hub tests: run async scenarios, admin clients, logins, unique names."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import requests
from wisehub.hub.client import HubClient
from wisehub.hub.launcher import RunningHub

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async scenario from a (sync) test."""
    return asyncio.run(coro)


def client(hub: RunningHub) -> HubClient:
    """An admin client for ``hub`` (use with ``async with``)."""
    return HubClient(hub.url, hub.token)


def unique(prefix: str) -> str:
    """A user or group name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def login(hub: RunningHub, user: str, password: str) -> requests.Session:
    """A browser-like session logged in through the hub's login form."""
    session = requests.Session()
    session.get(f"{hub.url}hub/login", timeout=30)
    reply = session.post(f"{hub.url}hub/login", timeout=30, data={
        "username": user, "password": password, "_xsrf": session.cookies.get("_xsrf")})
    assert reply.ok and "jupyterhub-session-id" in session.cookies, reply.status_code
    return session
