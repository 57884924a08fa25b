"""NativeAuthenticator (sign-up with admin approval), with an explicit first admin.

Two changes to upstream:

* **Nobody is approved by being named.** Upstream approves at sign-up anyone listed in
  ``allowed_users`` or ``admin_users``, so whoever signs up first under a listed admin's name
  is an approved admin. Here only accounts an admin approved (at ``/hub/authorize``) or that
  ``wisehub hub add-admin`` created may log in; a listed name is an invitation to sign up.
* **The first admin comes from the command line.** ``wisehub hub add-admin NAME`` stores the
  name with a bcrypt hash of the password typed there in the hub's private state directory
  (:func:`add_pending_admin`); the hub makes that account an approved admin at its next start
  and forgets the pending entry.

And a fix: NativeAuthenticator 1.3.0 times logins with ``handler.statsd``, which JupyterHub 6
removed (jupyterhub/jupyterhub#5407), so every login fails with a 500. Until a fixed release
exists, its login handler gets a do-nothing ``statsd``.

>>> NativeAuthenticator.__mro__[1].__module__
'nativeauthenticator.nativeauthenticator'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bcrypt
from nativeauthenticator import NativeAuthenticator as UpstreamNativeAuthenticator
from nativeauthenticator.handlers import LoginHandler
from nativeauthenticator.orm import UserInfo
from traitlets import Unicode

from wisehub import names
from wisehub.hub.state import write_private

PENDING_ADMINS = "pending-admins.json"
"""In the hub's state directory: admins ``wisehub hub add-admin`` named, until the hub starts."""
MIN_PASSWORD = 8


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


def add_pending_admin(state: Path, name: str, password: str) -> None:
    """Record ``name`` as an admin to create (approved, with ``password``) at the next start.

    >>> import tempfile
    >>> state = Path(tempfile.mkdtemp())
    >>> add_pending_admin(state, "teacher", "a long password")
    >>> sorted(json.loads((state / PENDING_ADMINS).read_text()))
    ['teacher']
    """
    names.check(name)
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the admin password must have at least {MIN_PASSWORD} characters")
    path = state / PENDING_ADMINS
    pending = json.loads(path.read_text()) if path.exists() else {}
    pending[name] = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    write_private(path, json.dumps(pending))


class NativeAuthenticator(UpstreamNativeAuthenticator):
    """Upstream NativeAuthenticator: approval only by an admin, first admin from the CLI."""

    pending_admins_file = Unicode(
        "", config=True, help="JSON {name: bcrypt hash} of admins to create at start")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_pending_admins()

    def get_authed_users(self) -> set[str]:
        """Accounts approved in the database; being named in the config approves no one."""
        return {info.username for info in UserInfo.all_users(self.db) if info.is_authorized}

    def _create_pending_admins(self) -> None:
        path = Path(self.pending_admins_file) if self.pending_admins_file else None
        if path is None or not path.exists():
            return
        pending: dict[str, str] = json.loads(path.read_text())
        for name, hashed in pending.items():
            info = UserInfo.find(self.db, name)
            if info is None:
                self.db.add(UserInfo(username=name, password=hashed.encode(),
                                     is_authorized=True))
            else:  # an account signed up under this name gets the CLI's password
                info.password, info.is_authorized = hashed.encode(), True
            self.log.info("wisehub: %s is an approved admin (from `wisehub hub add-admin`)", name)
        self.db.commit()
        self.admin_users = set(self.admin_users) | set(pending)
        path.unlink()

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        return [(path, _LoginHandler if handler is LoginHandler else handler)
                for path, handler in super().get_handlers(app)]
