"""The staged-write protocol: atomic renames on a local directory; on object storage (the
session's real Ceph RGW, tests marked `ceph`) chunks at their final keys, metadata last."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.config import Settings
from wisehub.storage import Storage, StorageError, get_storage


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return Storage.local(str(tmp_path / "products"))


def frames(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 60_000, (3, 32, 48), dtype=np.uint16)
    return xr.Dataset({"data": (("frame", "y", "x"), data)},
                      coords={"frame": ["f0", "f1", "f2"]}).chunk({"frame": 1})


def test_staged_zarr_lands_at_its_key_with_checksum_and_size(store: Storage) -> None:
    ds = frames()
    with store.staged("private/ada/night.zarr") as write:
        assert "/.staging/" in write.url and write.url.startswith(store.url("private/ada"))
        ds.to_zarr(write.url, mode="w-")
    result = write.result
    assert result.uri == store.url("private/ada/night.zarr")
    xr.testing.assert_identical(xr.open_zarr(result.uri).load(), ds.compute())
    files = [p for p in Path(result.uri).rglob("*") if p.is_file()]
    assert result.size == sum(p.stat().st_size for p in files)
    assert store.checksum(result.uri) == (result.checksum, result.size)
    assert not list(Path(store.root).rglob(".staging/*"))


def test_checksum_changes_with_one_byte(store: Storage) -> None:
    with store.staged("world/a.bin") as write:
        store.fs.pipe_file(write.url, b"\x00" * 1000)
    path = Path(write.result.uri)
    path.write_bytes(b"\x00" * 999 + b"\x01")
    assert store.checksum(write.result.uri)[0] != write.result.checksum


def test_failure_inside_the_block_leaves_nothing(store: Storage) -> None:
    with pytest.raises(ZeroDivisionError), store.staged("groups/lab/x.zarr") as write:
        frames().to_zarr(write.url, mode="w-")
        raise ZeroDivisionError
    assert write.result is None
    assert not store.exists("groups/lab/x.zarr")
    assert not [p for p in Path(store.root).rglob("*") if p.is_file()]


def test_an_empty_write_is_refused_and_leaves_nothing(store: Storage) -> None:
    with pytest.raises(StorageError, match="nothing was written"), store.staged("world/x"):
        pass
    assert not store.exists("world/x")


def test_existing_products_are_never_overwritten(store: Storage) -> None:
    with store.staged("world/x.bin") as write:
        store.fs.pipe_file(write.url, b"first")
    with pytest.raises(StorageError, match="already exists"), store.staged("world/x.bin"):
        pytest.fail("the block must not run")
    assert Path(write.result.uri).read_bytes() == b"first"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "private/ada/.staging/x", "a//b",
                                 "s3://b/k"])
def test_bad_keys_are_refused_with_a_clear_message(store: Storage, key: str) -> None:
    with pytest.raises(StorageError, match="invalid storage key"), store.staged(key):
        pass


def test_cleanup_removes_only_abandoned_staging(store: Storage) -> None:
    root = Path(store.root)
    old = root / "private/ada/.staging" / f"{int(time.time()) - 7200}-aaaa/x.zarr"
    young = root / "groups/lab/.staging" / f"{int(time.time())}-bbbb/y.zarr"
    kept = root / "private/ada/product.zarr/zarr.json"
    for path in (old, young, kept):
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    removed = store.cleanup_staging(older_than_s=3600)
    assert removed == [str(old.parent)]
    assert not old.exists() and young.exists() and kept.exists()


def test_get_storage_local_lives_under_the_data_dir(tmp_path: Path) -> None:
    store = get_storage(Settings(data_dir=tmp_path))
    with store.staged("world/a.txt") as write:
        store.fs.pipe_file(write.url, b"x")
    assert os.path.exists(tmp_path / "products" / "world" / "a.txt")


# --- object storage: chunks at their final keys, metadata last (the session's real Ceph RGW)


def _keys(store: Storage, key: str) -> list[str]:
    root = store._path(key)
    return sorted(p[len(root) + 1:] for p in store.fs.find(root))


@pytest.mark.ceph
def test_s3_chunks_land_at_the_final_key_and_metadata_waits_for_the_commit(
        bucket_store: Storage) -> None:
    ds = frames().astype("float32")
    seen: dict[str, list[str]] = {}
    with bucket_store.staged("private/ada/night.zarr") as write:
        assert write.url == bucket_store.url("private/ada/night.zarr")
        write.to_zarr(ds)
        seen["final"] = _keys(bucket_store, "private/ada/night.zarr")
        seen["held"] = sorted(write.held or {})
        seen["staging"] = bucket_store.fs.find(bucket_store._path("private/ada/.staging"))
    assert seen["final"] and not [k for k in seen["final"] if k.endswith("zarr.json")]
    assert "zarr.json" in seen["held"] and "data/zarr.json" in seen["held"]
    assert not [k for k in seen["held"] if "/c/" in k]  # no chunk was held back
    # Only the lease goes to the staging area: nothing to copy in, nothing to remove.
    assert len(seen["staging"]) == 1 and seen["staging"][0].endswith(".lease")
    after = _keys(bucket_store, "private/ada/night.zarr")
    assert set(after) == set(seen["final"]) | set(seen["held"])
    root = json.loads(bucket_store.fs.cat_file(bucket_store._path("private/ada/night.zarr")
                                               + "/zarr.json"))
    assert "data" in root["consolidated_metadata"]["metadata"]  # consolidated at the commit
    back = xr.open_zarr(write.result.uri, storage_options=bucket_store.storage_options)
    xr.testing.assert_identical(back.load(), ds.compute())
    assert bucket_store.checksum(write.result.uri) == (write.result.checksum, write.result.size)
    assert not bucket_store.fs.find(bucket_store._path("private/ada/.staging"))


@pytest.mark.ceph
def test_s3_delayed_write_on_dask_worker_processes_commits_consolidated_metadata(
        bucket_store: Storage) -> None:
    """The chunks are written by real worker processes, each with a pickled copy of the
    store: the held metadata must still arrive, consolidated, from the writer's own copy."""
    from distributed import Client, LocalCluster, get_task_stream

    ds = frames(3).astype("float32")
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client, \
            bucket_store.staged("groups/lab/batch.zarr") as write:
        delayed = write.to_zarr(ds, compute=False)
        with get_task_stream(client) as tasks:
            client.compute(delayed).result()
        workers = set(client.scheduler_info()["workers"])  # the worker processes' addresses
        assert not [k for k in _keys(bucket_store, "groups/lab/batch.zarr")
                    if k.endswith("zarr.json")]  # not before the commit
    ran_on = {task["worker"] for task in tasks.data}
    assert ran_on and ran_on <= workers
    back = xr.open_zarr(write.result.uri, storage_options=bucket_store.storage_options,
                        consolidated=True)
    xr.testing.assert_identical(back.load(), ds.compute())
    assert bucket_store.checksum(write.result.uri) == (write.result.checksum, write.result.size)


def _die_before_commit(store: Storage, key: str, ds: xr.Dataset,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails before its commit and cannot clean up (the gateway went away)."""
    monkeypatch.setattr(type(store), "_remove_quietly", lambda self, path: None)
    with pytest.raises(ZeroDivisionError), store.staged(key) as write:
        write.to_zarr(ds)
        raise ZeroDivisionError
    monkeypatch.undo()


@pytest.mark.ceph
def test_s3_write_that_dies_before_commit_is_not_a_zarr_and_cleanup_removes_it(
        bucket_store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "groups/lab/x.zarr"
    _die_before_commit(bucket_store, key, frames(), monkeypatch)
    assert _keys(bucket_store, key)  # chunks are left at the final key ...
    with pytest.raises(Exception, match="(?i)zarr|group|not found|nothing"):
        xr.open_zarr(bucket_store.url(key), storage_options=bucket_store.storage_options)
    # ... and a live writer's lease protects them from cleanup until it is no longer renewed.
    assert bucket_store.cleanup_staging(prefixes=["groups/lab"]) == []
    removed = bucket_store.cleanup_staging(older_than_s=-1, prefixes=["groups/lab"])
    assert len(removed) == 1 and "/groups/lab/.staging/" in removed[0]
    assert not bucket_store.exists(key)
    assert not bucket_store.fs.find(bucket_store._path("groups/lab"))


@pytest.mark.ceph
def test_s3_retry_of_a_dead_write_of_the_same_key_succeeds(
        bucket_store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "world/retry.zarr"
    _die_before_commit(bucket_store, key, frames(1), monkeypatch)
    # While the dead writer's lease still looks live, the key is refused, not overwritten.
    with pytest.raises(StorageError, match="being written by another writer"), \
            bucket_store.staged(key):
        pytest.fail("the block must not run")
    # Once the lease has expired, a retry removes the leftovers and writes a clean product.
    monkeypatch.setattr("wisehub.storage.store.DEFAULT_STAGING_AGE_S", -1.0)
    ds = frames(2)
    with bucket_store.staged(key) as retry:
        retry.to_zarr(ds)
    back = xr.open_zarr(retry.result.uri, storage_options=bucket_store.storage_options)
    xr.testing.assert_identical(back.load(), ds.compute())
    assert retry.result.size == sum(size for _, size, _ in bucket_store.manifest(key))
    assert not bucket_store.fs.find(bucket_store._path("world/.staging"))


@pytest.mark.ceph
def test_s3_committed_products_are_never_overwritten_even_with_a_dead_lease(
        bucket_store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    with bucket_store.staged("world/kept.zarr") as write:
        write.to_zarr(frames(1))
    monkeypatch.setattr("wisehub.storage.store.DEFAULT_STAGING_AGE_S", -1.0)
    with pytest.raises(StorageError, match="already exists"), \
            bucket_store.staged("world/kept.zarr"):
        pytest.fail("the block must not run")
    assert bucket_store.checksum(write.result.uri) == (write.result.checksum, write.result.size)


def test_cleanup_goes_by_the_lease_not_by_the_start_time(store: Storage) -> None:
    area = Path(store.root) / "private/ada/.staging"
    started_long_ago = int(time.time()) - 7200
    live, dead = area / f"{started_long_ago}-live", area / f"{started_long_ago}-dead"
    for write in (live, dead):
        (write / "x.zarr").mkdir(parents=True)
        write.with_suffix(".lease").write_text(json.dumps({"key": "private/ada/x.zarr"}))
    os.utime(dead.with_suffix(".lease"), (time.time() - 3600,) * 2)
    assert store.cleanup_staging(older_than_s=600) == [str(dead)]
    assert live.exists() and live.with_suffix(".lease").exists()
    assert not dead.exists() and not dead.with_suffix(".lease").exists()


def test_a_writer_holds_a_lease_naming_its_key_until_the_end(store: Storage) -> None:
    with store.staged("private/ada/slow.zarr") as write:
        frames().to_zarr(write.url, mode="w-")
        lease = Path(write.url).parent.with_suffix(".lease")
        assert json.loads(lease.read_text())["key"] == "private/ada/slow.zarr"
        assert store.cleanup_staging(older_than_s=60) == []
    assert not lease.exists() and store.exists("private/ada/slow.zarr")


@pytest.mark.ceph
def test_s3_a_committed_product_whose_writer_died_before_dropping_its_lease_is_kept(
        bucket_store: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "world/committed.zarr"
    real_drop = type(bucket_store)._drop_staging
    monkeypatch.setattr(type(bucket_store), "_drop_staging", lambda self, d: None)  # dies here
    with bucket_store.staged(key) as write:
        write.to_zarr(frames(1))
    monkeypatch.setattr(type(bucket_store), "_drop_staging", real_drop)
    monkeypatch.setattr("wisehub.storage.store.DEFAULT_STAGING_AGE_S", -1.0)
    with pytest.raises(StorageError, match="already exists"), bucket_store.staged(key):
        pytest.fail("the block must not run")
    assert len(bucket_store.cleanup_staging(older_than_s=-1, prefixes=["world"])) == 1
    assert bucket_store.checksum(write.result.uri) == (write.result.checksum, write.result.size)
    assert not bucket_store.fs.find(bucket_store._path("world/.staging"))


@pytest.mark.parametrize("where", ["local", pytest.param("s3", marks=pytest.mark.ceph)])
def test_a_commit_missing_chunks_is_refused_and_registers_nothing(
        where: str, request: pytest.FixtureRequest) -> None:
    """Before, a commit verified only the metadata: a chunk removed under a running write (a
    cleanup, a writer cut off) gave a product that Zarr reads as fill values."""
    store = request.getfixturevalue("store" if where == "local" else "bucket_store")
    key = "private/ada/cut.zarr"
    with pytest.raises(StorageError, match=r"incomplete \(data: 2 of 3 chunks\)"), \
            store.staged(key) as write:
        write.to_zarr(frames().astype("float32"))
        chunk = next(p for p in store.fs.find(store._path(write.url)) if "/data/c/" in p)
        store.fs.rm(chunk)
    assert write.result is None
    assert not store.exists(key)
