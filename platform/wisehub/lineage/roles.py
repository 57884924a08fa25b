"""A PostgreSQL role per platform user, and the group membership row security reads.

The hub calls :func:`provision_user` before it spawns a user's server (its pre-spawn hook),
with the URL of the role that owns the lineage tables (the one that ran the migrations):

.. code-block:: python

    from wisehub.lineage.roles import provision_user

    def pre_spawn_hook(spawner):
        url = provision_user(admin_url, spawner.user.name,
                             groups=[g.name for g in spawner.user.groups])
        spawner.environment["WISEHUB_LINEAGE_DB_URL"] = url   # this user's server only

It creates the user's login role (a member of ``wisehub_users``, which migration 0003 gives
its row-security policies and grants) or gives it a new password, writes the user's groups
and projects into ``lineage_members`` (the only writer; users may only read their own rows),
and returns the database URL that logs in as the user. Each call sets a new password, so the
URL of a previous spawn stops working. It refuses a name that is already some other role
(``postgres``, the hub's own role, a superuser): provisioning never changes such a role.

Against the lineage PostgreSQL, ``provision_user("postgresql+psycopg://hub@db/lineage",
"ada", groups=["lab"])`` returns ``'postgresql+psycopg://ada:...@db/lineage'``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from wisehub.lineage.identity import USERS_ROLE


class RoleError(ValueError):
    """A user's database role cannot be provisioned; the message says why."""


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _check_name(username: str) -> None:
    if not username or len(username.encode()) > 63 or username.startswith("pg_") \
            or username == USERS_ROLE or "\x00" in username:
        raise RoleError(f"{username!r} cannot be a database role name (empty, longer than 63 "
                        f"bytes, starting with pg_, or {USERS_ROLE!r})")


def _ensure_role(conn: Connection, username: str, password: str) -> None:
    found = conn.execute(text(
        "SELECT r.rolsuper, EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g "
        "ON g.oid = m.roleid AND g.rolname = :group WHERE m.member = r.oid) "
        "FROM pg_roles r WHERE r.rolname = :name"), {"name": username, "group": USERS_ROLE}
    ).first()
    role, secret = _quoted(conn, username), _literal(password)
    if found is None:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN INHERIT PASSWORD {secret} "
                             f"IN ROLE {USERS_ROLE}")
        return
    superuser, platform_user = found
    if superuser or not platform_user or username == conn.execute(
            text("SELECT current_user")).scalar():
        raise RoleError(f"a database role {username!r} already exists and is not a wisehub "
                        "user's role; rename the platform user or the role")
    conn.exec_driver_sql(f"ALTER ROLE {role} LOGIN INHERIT PASSWORD {secret}")


def _set_members(conn: Connection, username: str, kind: str, names: Iterable[str]) -> None:
    wanted = sorted(set(names))
    conn.execute(text("DELETE FROM lineage_members WHERE username = :u AND kind = :k "
                      "AND NOT (name = ANY(:names))"), {"u": username, "k": kind, "names": wanted})
    for name in wanted:
        conn.execute(text("INSERT INTO lineage_members (username, kind, name) "
                          "VALUES (:u, :k, :n) ON CONFLICT DO NOTHING"),
                     {"u": username, "k": kind, "n": name})


def provision_user(admin_url: str, username: str, groups: Iterable[str] = (),
                   projects: Iterable[str] = ()) -> str:
    """Create or refresh ``username``'s role and membership; return the URL logging in as it.

    ``admin_url`` connects as the role owning the lineage tables, which needs CREATEROLE.
    Groups and projects replace the user's previous ones, so calling it at every spawn
    keeps the database in step with the hub's groups.

    >>> provision_user("sqlite:///lineage.sqlite", "ada", groups=["lab"])
    Traceback (most recent call last):
    ...
    wisehub.lineage.roles.RoleError: database roles need PostgreSQL, not sqlite ...
    """
    _check_name(username)
    url = make_url(admin_url)
    if url.get_backend_name() != "postgresql":
        raise RoleError(f"database roles need PostgreSQL, not {url.get_backend_name()} "
                        "(a SQLite store is single-user trust)")
    password = secrets.token_urlsafe(24)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            _ensure_role(conn, username, password)
            _set_members(conn, username, "group", groups)
            _set_members(conn, username, "project", projects)
    finally:
        engine.dispose()
    return url.set(username=username, password=password).render_as_string(hide_password=False)
