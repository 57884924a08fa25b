"""Per-user credentials for a user's server: their own database role and their own RGW key.

At every spawn the hub calls :func:`user_credentials` (local modes: from the pre-spawn hook,
:class:`wisehub.hub.provision.PreSpawn`; cluster mode: for the user's Kubernetes Secret). It

- provisions the user's PostgreSQL role with their current groups
  (:func:`wisehub.lineage.roles.provision_user`), when the lineage store is PostgreSQL;
- ensures an RGW user and key for every platform user and sets the bucket policy from
  everyone's groups (:func:`wisehub.storage.provision.provision`), when S3 is configured;

and returns the environment variables that put *only this user's* credentials into their
server. The platform's own credentials (the lineage tables' owner, the bucket owner's key)
never leave the hub. ``wh.catalog()``, products and ``publish()`` read these variables
through the settings, so users do nothing.

With SQLite lineage and local storage there is nothing to provision (single-user trust):

>>> import tempfile
>>> from wisehub.config import Settings
>>> user_credentials(Settings(data_dir=tempfile.mkdtemp()), "ada", {"ada": Membership()})
{}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import make_url

from wisehub import names
from wisehub.config import Settings
from wisehub.storage.policy import Membership

LINEAGE_URL_ENV = "WISEHUB_LINEAGE_DB_URL"
ACCESS_KEY_ENV = "WISEHUB_S3__ACCESS_KEY"
SECRET_KEY_ENV = "WISEHUB_S3__SECRET_KEY"


def uses_database_roles(settings: Settings) -> bool:
    """Whether the lineage store is PostgreSQL, so each user gets their own role.

    >>> uses_database_roles(Settings(data_dir="wh-doc"))
    False
    """
    return make_url(str(settings.lineage_db_url)).get_backend_name() == "postgresql"


def uses_rgw_keys(settings: Settings) -> bool:
    """Whether S3 (Ceph RGW) is configured, so each user gets their own key.

    >>> uses_rgw_keys(Settings(data_dir="wh-doc"))
    False
    """
    return settings.storage == "s3" or settings.s3.endpoint_url is not None


def user_credentials(settings: Settings, user: str,
                     members: Mapping[str, Membership]) -> dict[str, str]:
    """Provision ``user``'s database role and RGW key; return the env vars for their server.

    Parameters
    ----------
    settings
        The hub's settings: ``lineage_db_url`` connects as the role owning the lineage
        tables (with CREATEROLE), ``s3`` holds the bucket owner's credentials (an RGW user
        with ``users=*`` caps).
    user
        The platform user whose server is starting; must be a key of ``members``.
    members
        Every platform user's groups and projects (the bucket policy covers everyone);
        :func:`hub_members` reads them from the hub's database.

    Returns
    -------
    dict
        ``WISEHUB_LINEAGE_DB_URL`` (logging in as the user's role; a new password at each
        call), ``WISEHUB_S3__ACCESS_KEY`` and ``WISEHUB_S3__SECRET_KEY`` (the user's RGW key),
        each only when that store is configured.

    Examples
    --------
    With PostgreSQL and RGW configured: ``{'WISEHUB_LINEAGE_DB_URL':
    'postgresql+psycopg://ada:…@db/lineage', 'WISEHUB_S3__ACCESS_KEY': …, …}``. A SQLite store
    (single-user trust) and no RGW admin add nothing:

    >>> import tempfile
    >>> user_credentials(Settings(data_dir=tempfile.mkdtemp()), "ada",
    ...                  {"ada": Membership(groups=["lab"])})
    {}
    """
    # The stores' clients load only when a spawn needs them, not when the hub starts.
    from wisehub.lineage.roles import provision_user
    from wisehub.lineage.schema import ensure_current
    from wisehub.lineage.store import close_engine, engine_for
    from wisehub.storage.credentials import resolve_credentials
    from wisehub.storage.provision import provision
    from wisehub.storage.rgw_admin import RGWAdmin
    from wisehub.storage.s3 import s3_storage

    if user not in members:
        raise ValueError(f"user {user!r} is not among the platform's members")
    own = members[user]
    env: dict[str, str] = {}
    if uses_database_roles(settings):
        admin_url = str(settings.lineage_db_url)
        try:  # a local hub migrates its database, a cluster's only `wisehub db upgrade`
            ensure_current(engine_for(admin_url), auto_upgrade=settings.mode == "local")
        finally:
            close_engine(admin_url)
        env[LINEAGE_URL_ENV] = provision_user(admin_url, user, groups=own.groups,
                                              projects=own.projects)
    if uses_rgw_keys(settings):
        storage = s3_storage(settings)
        storage.ensure_bucket()
        admin = RGWAdmin(str(settings.s3.endpoint_url), resolve_credentials(settings.s3),
                         region=settings.s3.region)
        keys = provision(admin, storage, members)[user]
        env[ACCESS_KEY_ENV], env[SECRET_KEY_ENV] = keys.access_key, keys.secret_key
    return env


def hub_members(db: Any) -> dict[str, Membership]:
    """Every hub user's groups, from the hub's database session (``spawner.user.db``).

    Names that break the name rule (:mod:`wisehub.names`) are left out: they would widen a
    bucket policy statement, and the pre-spawn hook refuses such users anyway.
    """
    from jupyterhub import orm

    return {u.name: Membership(groups=tuple(sorted(g.name for g in u.groups
                                                   if names.is_valid(g.name))))
            for u in db.query(orm.User) if names.is_valid(u.name)}
