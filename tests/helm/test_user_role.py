"""The hub's credential source gives each user their own PostgreSQL role, and the per-user
Secret carries the lineage URL that logs in as it (not as the tables' owner).

Starts: a real PostgreSQL on 127.0.0.1, once per session.
"""

from __future__ import annotations

import base64

import psycopg
import pytest
from sqlalchemy import make_url
from wisehub.config import Settings
from wisehub.hub.kube import LINEAGE_URL_ENV, StoreCredentials, user_secret
from wisehub.hub.kube_settings import KubeSettings
from wisehub.lineage import Context, LineageStore
from wisehub.lineage.store import close_engine
from wisehub.storage.policy import Membership

pytestmark = pytest.mark.postgres


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_the_users_secret_logs_in_as_the_users_own_role(pg_server, tmp_path):
    admin = pg_server.create_database()
    LineageStore(admin, Context("hub"))  # migrated by the tables' owner, as `wisehub db upgrade`
    close_engine(admin)
    source = StoreCredentials(Settings(data_dir=tmp_path, lineage_db_url=admin))
    members = {"alice": Membership(groups=("lab",)), "bob": Membership(groups=("other",))}
    alice = source("alice", members)
    assert alice.s3 is None  # no S3 in these settings: only the database role
    secret = user_secret("alice", alice, KubeSettings())
    url = base64.b64decode(secret["data"][LINEAGE_URL_ENV]).decode()
    assert url == alice.lineage_url and make_url(url).password not in repr(alice)
    with psycopg.connect(_libpq(url)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("alice",)
        groups = conn.execute("SELECT name FROM lineage_members WHERE username = 'alice' "
                              "AND kind = 'group'").fetchall()
        assert groups == [("lab",)]
    source("alice", members)  # the next spawn: a new password, the old URL stops working
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_libpq(url)).close()
