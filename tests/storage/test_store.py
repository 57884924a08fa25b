"""The staged-write protocol on a local directory: atomic, checksummed, cleaned up."""

from __future__ import annotations

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
