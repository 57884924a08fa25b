"""Per-user RGW keys and the bucket policy make the store enforce the layout.

Starts: a single-node Ceph (mon, memstore OSD, RGW) on 127.0.0.1, once per session.
"""

from __future__ import annotations

import pytest
from wisehub.dev.ceph import ADMIN_UID, CephCluster
from wisehub.storage import StorageAccessDenied
from wisehub.storage.policy import Membership
from wisehub.storage.provision import provision
from wisehub.storage.rgw_admin import RGWAdmin, RGWAdminError
from wisehub.storage.s3 import S3Storage, open_s3

pytestmark = pytest.mark.ceph

MEMBERS = {"ann": Membership(groups=["lab"], projects=["survey"]),
           "ben": Membership(groups=["other"]),
           "cat": Membership(groups=["lab"])}


@pytest.fixture
def stores(ceph: CephCluster, rgw_admin: RGWAdmin,
           bucket_store: S3Storage) -> dict[str, S3Storage]:
    keys = provision(rgw_admin, bucket_store, MEMBERS)
    users = {u: open_s3(ceph.endpoint_url, k, bucket_store.root) for u, k in keys.items()}
    return {"platform": bucket_store, **users}


def put(store: S3Storage, key: str, data: bytes = b"x") -> str:
    with store.staged(key) as write:
        store.fs.pipe_file(write.url, data)
    return write.result.uri


def test_each_user_gets_distinct_keys_and_provisioning_is_idempotent(
        rgw_admin: RGWAdmin, bucket_store: S3Storage, ceph: CephCluster) -> None:
    first = provision(rgw_admin, bucket_store, MEMBERS)
    again = provision(rgw_admin, bucket_store, MEMBERS)
    assert first == again
    assert len({k.access_key for k in first.values()} | {ceph.admin.access_key}) == 4


def test_users_read_and_write_their_own_areas(stores: dict[str, S3Storage]) -> None:
    ann = stores["ann"]
    for key in ("private/ann/a.bin", "groups/lab/a.bin", "projects/survey/a.bin"):
        uri = put(ann, key, b"ann's")
        assert ann.fs.cat(uri) == b"ann's"
    assert ann.fs.ls(ann.url("private/ann"), detail=False, refresh=True) == [
        f"{ann.root}/private/ann/a.bin"]


def test_a_user_cannot_touch_another_users_private_area(stores: dict[str, S3Storage]) -> None:
    uri = put(stores["ben"], "private/ben/secret.bin", b"ben's")
    ann = stores["ann"]
    with pytest.raises(PermissionError):
        ann.fs.cat(uri)
    with pytest.raises(PermissionError):
        ann.fs.ls(stores["ben"].url("private/ben"), refresh=True)
    with pytest.raises(StorageAccessDenied, match="private/<you>"):
        put(ann, "private/ben/planted.bin")
    with pytest.raises(StorageAccessDenied):
        ann.exists("private/ben/secret.bin")
    assert stores["ben"].fs.cat(uri) == b"ben's"
    assert not stores["platform"].exists("private/ben/planted.bin")


def test_no_one_lists_the_whole_bucket_yet_missing_own_keys_read_as_absent(
        stores: dict[str, S3Storage]) -> None:
    put(stores["ben"], "private/ben/name-that-must-not-leak.bin")
    ann = stores["ann"]
    for prefix in ("", "private/", "groups/"):
        with pytest.raises(PermissionError):
            ann.fs.call_s3("list_objects_v2", Bucket=ann.root, Prefix=prefix)
    with pytest.raises(FileNotFoundError):  # 404, not 403: zarr needs this for absent keys
        ann.fs.cat_file(ann.url("private/ann/absent.zarr/zarr.json"))
    assert not ann.exists("private/ann/absent.zarr")


def test_groups_are_shared_by_members_only(stores: dict[str, S3Storage]) -> None:
    uri = put(stores["ann"], "groups/lab/shared.bin", b"for the lab")
    assert stores["cat"].fs.cat(uri) == b"for the lab"   # a member reads what ann wrote
    with pytest.raises(PermissionError):
        stores["ben"].fs.cat(uri)                         # ben is not in lab
    with pytest.raises(StorageAccessDenied):
        put(stores["ben"], "groups/lab/planted.bin")
    other = put(stores["ben"], "groups/other/b.bin")
    with pytest.raises(PermissionError):
        stores["ann"].fs.cat(other)


def test_world_is_read_by_all_and_written_by_the_platform(
        stores: dict[str, S3Storage]) -> None:
    uri = put(stores["platform"], "world/public.bin", b"for everyone")
    for user in MEMBERS:
        assert stores[user].fs.cat(uri) == b"for everyone"
    with pytest.raises(StorageAccessDenied):
        put(stores["ann"], "world/unreviewed.bin")


def test_the_platform_reads_and_cleans_what_users_wrote(stores: dict[str, S3Storage]) -> None:
    uri = put(stores["ann"], "private/ann/mine.bin", b"ann's")
    assert stores["platform"].fs.cat(uri) == b"ann's"
    stores["platform"].delete(uri)
    assert not stores["ann"].exists("private/ann/mine.bin")


def test_admin_api_errors_name_the_endpoint(ceph: CephCluster, rgw_admin: RGWAdmin) -> None:
    assert rgw_admin.user("nobody-here") is None
    assert rgw_admin.user(ADMIN_UID)["user_id"] == ADMIN_UID
    user_keys = rgw_admin.ensure_user("not-an-admin")
    with pytest.raises(RGWAdminError, match=ceph.endpoint_url) as err:
        RGWAdmin(ceph.endpoint_url, user_keys).ensure_user("x")
    assert user_keys.secret_key not in str(err.value)


def test_promotion_to_a_group_moves_the_data_where_members_keys_read_it(
        stores: dict[str, S3Storage], tmp_path) -> None:
    """Before, promotion left the data in private/ann/: cat, now a reader, was denied."""
    import numpy as np
    import xarray as xr
    from wisehub.lineage import Context, LineageStore
    from wisehub.storage.zarrio import open_zarr, product_key, write_staged

    ann_store = stores["ann"]
    ann = LineageStore(f"sqlite:///{tmp_path / 'l.sqlite'}", Context("ann", ("lab",)),
                       storage=ann_store)
    data = xr.Dataset({"data": ("x", np.arange(5.0))})
    stored = write_staged(ann_store, product_key("private/ann", "sum", "Note"), data)
    note = ann.register("Note", name="sum", data=stored)
    with pytest.raises(PermissionError):
        stores["cat"].fs.cat(f"{note.data_uri}/zarr.json")
    promoted = ann.promote(note.pid, "group", group="lab")
    assert promoted.data_uri.startswith(f"s3://{ann_store.root}/groups/lab/")
    opened = open_zarr(promoted.data_uri, stores["cat"].storage_options)
    assert float(opened["data"].sum()) == 10.0
    with pytest.raises(PermissionError):
        stores["ben"].fs.cat(f"{promoted.data_uri}/zarr.json")
    assert not stores["platform"].exists(note.data_uri)
    # world/ is written by the platform only: ann's promotion fails and changes nothing
    with pytest.raises(StorageAccessDenied):
        ann.promote(note.pid, "world")
    assert ann.product(note.pid).data_uri == promoted.data_uri
    assert stores["cat"].checksum(promoted.data_uri)[0] == note.checksum
