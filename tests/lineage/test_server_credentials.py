"""Each server spawned by the hub holds its own user's credentials, and only those.

Starts: a hub (JupyterHub + proxy, demo login, local spawner) whose lineage store is the
session's real PostgreSQL and whose storage is the session's real Ceph RGW, one per module.
Its pre-spawn hook provisions the user's database role and RGW key
(:func:`wisehub.hub.credentials.user_credentials`). Bob then attacks from his own server's
environment: with his role and his RGW key he can neither see Ada's private product nor
read her private data, whatever ``WISEHUB_USER`` says. Before the hook provisioned
credentials, servers got the hub's URL (the tables' owner, which row security does not
restrict) and no S3 key of their own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from hubtools import client, run, unique
from sqlalchemy import make_url
from wisehub.config import Settings, load_settings
from wisehub.dev.ceph import CephCluster
from wisehub.hub.credentials import hub_members, user_credentials
from wisehub.hub.launcher import RunningHub, start, stop
from wisehub.lineage import Context, LineageStore
from wisehub.lineage.store import close_engine
from wisehub.storage.credentials import S3Credentials
from wisehub.storage.policy import Membership
from wisehub.storage.rgw_admin import RGWAdmin
from wisehub.storage.s3 import open_s3

pytestmark = [pytest.mark.postgres, pytest.mark.ceph, pytest.mark.hub]

BOB_READS = """
import json, os
from wisehub.lineage.store import default_store
from wisehub.storage import get_storage
store, storage = default_store(), get_storage()
try:
    storage.fs.cat(os.environ["ADA_URI"])
    read = "read"
except PermissionError:
    read = "denied"
print(json.dumps({"user": store.context.user, "products": store.count(None, []),
                  "read": read, "key": storage.storage_options["key"]}))
"""


@pytest.fixture(scope="module")
def platform(pg_server, ceph: CephCluster, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Settings, RunningHub]]:
    """A hub on PostgreSQL lineage and Ceph storage (the hub's own, owner, credentials)."""
    admin_url = pg_server.create_database()
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("cred-hub"), lineage_db_url=admin_url, storage="s3",
        s3={"endpoint_url": ceph.endpoint_url, "access_key": ceph.admin.access_key,
            "secret_key": ceph.admin.secret_key, "bucket": f"t-{uuid.uuid4().hex[:12]}"},
        hub={"demo_password": "demo-password-for-tests", "share_sync_interval": 60})
    hub = start(settings)
    try:
        yield settings, hub
    finally:
        stop(hub)
        close_engine(admin_url)


def server_environment(hub: RunningHub, user: str) -> dict[str, str]:
    """The environment of ``user``'s running server process, as the OS holds it."""
    for process in psutil.Process(hub.process.pid).children(recursive=True):
        try:
            if "wisehub.hub.singleuser" in process.cmdline() and \
                    process.environ().get("JUPYTERHUB_USER") == user:
                return process.environ()
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no server process of {user}")


def test_a_spawned_server_holds_only_its_users_credentials(platform, ceph: CephCluster,
                                                           tmp_path: Path):
    settings, hub = platform
    ada, bob, lab = unique("ada"), unique("bob"), unique("lab")

    def ada_writes_a_secret() -> tuple[dict[str, str], str]:
        """Ada's credentials, as cluster mode gets them for her pod's Secret, and her
        private product written with them."""
        ada_env = user_credentials(settings, ada, {ada: Membership(groups=[lab]),
                                                   bob: Membership()})
        storage = open_s3(ceph.endpoint_url, S3Credentials(
            ada_env["WISEHUB_S3__ACCESS_KEY"], ada_env["WISEHUB_S3__SECRET_KEY"]),
            settings.s3.bucket)
        with storage.staged(f"private/{ada}/secret.bin") as write:
            storage.fs.pipe_file(write.url, b"ada's secret")
        store = LineageStore(ada_env["WISEHUB_LINEAGE_DB_URL"], Context(ada), storage=storage)
        store.register("Note", name="secret", data=write.result)
        close_engine(store.url)
        return ada_env, write.result.uri

    def bob_attacks(env: dict[str, str], uri: str) -> dict:
        """In his server's environment, claiming to be Ada."""
        done = subprocess.run(
            [sys.executable, "-c", BOB_READS], capture_output=True, text=True, timeout=300,
            cwd=tmp_path, env={**env, "WISEHUB_USER": ada, "WISEHUB_GROUPS": lab,
                               "ADA_URI": uri})
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    async def scenario() -> tuple[dict[str, str], dict[str, str], str, dict]:
        async with client(hub) as api:
            await api.create_user(ada)
            await api.create_user(bob)
            await api.create_group(lab, [ada])
            await api.spawn(bob)
            try:
                env = server_environment(hub, bob)
                ada_env, uri = await asyncio.to_thread(ada_writes_a_secret)
                seen = await asyncio.to_thread(bob_attacks, env, uri)
            finally:
                await api.stop(bob)
        return env, ada_env, uri, seen

    env, ada_env, uri, seen = run(scenario())
    bob_key = RGWAdmin(ceph.endpoint_url, ceph.admin).ensure_user(bob)
    assert env["WISEHUB_S3__ACCESS_KEY"] == bob_key.access_key
    assert env["WISEHUB_S3__SECRET_KEY"] == bob_key.secret_key
    assert make_url(env["WISEHUB_LINEAGE_DB_URL"]).username == bob
    secrets = {ceph.admin.secret_key, make_url(str(settings.lineage_db_url)).password,
               ada_env["WISEHUB_S3__SECRET_KEY"],
               make_url(ada_env["WISEHUB_LINEAGE_DB_URL"]).password}
    assert not [name for name, value in env.items() if any(s in value for s in secrets)]
    # Bob's own identity, role and key, whatever WISEHUB_USER says: nothing of Ada's.
    assert seen == {"user": bob, "products": 0, "read": "denied", "key": bob_key.access_key}
    owner = open_s3(ceph.endpoint_url, ceph.admin, settings.s3.bucket)
    assert owner.fs.cat(uri) == b"ada's secret"


def test_hub_members_lists_every_user_with_valid_groups(platform):
    """The bucket policy covers everyone: the hook reads all users' groups from the hub."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    settings, hub = platform
    ann, lab = unique("ann"), unique("lab")

    async def make() -> None:
        async with client(hub) as api:
            await api.create_user(ann)
            await api.create_group(lab, [ann])

    run(make())
    db = settings.data_dir / "hub" / "jupyterhub.sqlite"
    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        members = hub_members(session)
    engine.dispose()
    assert members[ann] == Membership(groups=(lab,))
