"""The hub's credential source gives each user their own RGW keys, which the store enforces.

Starts: a single-node Ceph (mon, memstore OSD, RGW) on 127.0.0.1, once per session.
"""

from __future__ import annotations

import uuid

import pytest
from wisehub.config import Settings
from wisehub.hub.kube import StoreCredentials, user_secret
from wisehub.hub.kube_settings import KubeSettings
from wisehub.storage import StorageAccessDenied
from wisehub.storage.policy import Membership
from wisehub.storage.s3 import open_s3

pytestmark = pytest.mark.ceph


def test_user_keys_reach_only_the_users_own_prefixes(ceph):
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    open_s3(ceph.endpoint_url, ceph.admin, bucket).ensure_bucket()
    settings = Settings(storage="s3", s3={
        "endpoint_url": ceph.endpoint_url, "bucket": bucket,
        "access_key": ceph.admin.access_key, "secret_key": ceph.admin.secret_key})
    members = {"alice": Membership(groups=["lab"]), "bob": Membership(groups=["other"])}
    source = StoreCredentials(settings)
    alice = source("alice", members)
    assert source("alice", members).s3 == alice.s3  # idempotent: the same keys again
    assert alice.s3.access_key != ceph.admin.access_key
    store = open_s3(ceph.endpoint_url, alice.s3, bucket)
    for key in ("private/alice/x", "groups/lab/x"):
        with store.staged(key) as write:
            store.fs.pipe_file(write.url, b"mine")
    with pytest.raises(StorageAccessDenied), store.staged("private/bob/x") as write:
        store.fs.pipe_file(write.url, b"not mine")
    secret = user_secret("alice", alice, KubeSettings())
    assert alice.s3.secret_key not in str(secret)  # base64 in data, never in clear
