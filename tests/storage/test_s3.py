"""Product storage on a real Ceph RGW: round trips, checksums, and the faults users meet.

Starts: a single-node Ceph (mon, memstore OSD, RGW) on 127.0.0.1, once per session.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.dev.ceph import ADMIN_UID, CephCluster
from wisehub.storage import (
    S3Credentials,
    Storage,
    StorageCredentialsError,
    StorageError,
    StorageQuotaError,
)
from wisehub.storage.rgw_admin import RGWAdmin
from wisehub.storage.s3 import S3Storage, open_s3

pytestmark = pytest.mark.ceph


def frames(n: int = 4, seed: int = 0, size: int = 64) -> xr.Dataset:
    data = np.random.default_rng(seed).integers(0, 60_000, (n, size, size), dtype=np.uint16)
    return xr.Dataset({"data": (("frame", "y", "x"), data)},
                      coords={"exptime": ("frame", np.arange(n, dtype=float))}
                      ).chunk({"frame": 1})


def write_zarr(store: Storage, key: str, ds: xr.Dataset) -> Storage:
    with store.staged(key) as write:
        ds.to_zarr(write.url, storage_options=write.storage_options or None, mode="w-")
    return write.result


def test_zarr_round_trip_and_checksum_equal_to_local(bucket_store: S3Storage,
                                                     tmp_path: Path) -> None:
    ds = frames()
    result = write_zarr(bucket_store, "private/ada/night.zarr", ds)
    assert result.uri == f"s3://{bucket_store.root}/private/ada/night.zarr"
    back = xr.open_zarr(result.uri, storage_options=bucket_store.storage_options)
    xr.testing.assert_identical(back.load(), ds.compute())
    # ETag-based checksums on S3 equal content-based ones on disk for the same bytes.
    local = write_zarr(Storage.local(str(tmp_path)), "private/ada/night.zarr", ds)
    assert (result.checksum, result.size) == (local.checksum, local.size)
    assert bucket_store.checksum(result.uri) == (result.checksum, result.size)
    assert not bucket_store.fs.find(f"{bucket_store.root}/private/ada/.staging")


def test_multipart_objects_are_checksummed_by_content(bucket_store: S3Storage,
                                                      tmp_path: Path) -> None:
    payload = np.random.default_rng(3).bytes(6 * 2**20 + 17)
    with bucket_store.staged("world/big.bin") as write, \
            bucket_store.fs.open(write.url, "wb", block_size=5 * 2**20) as out:
        out.write(payload)
    etag = bucket_store.fs.info(write.result.uri)["ETag"]
    assert "-" in etag  # really a multipart upload: its ETag is no MD5 of the content
    local = Storage.local(str(tmp_path))
    with local.staged("world/big.bin") as lwrite:
        local.fs.pipe_file(lwrite.url, payload)
    assert write.result.checksum == lwrite.result.checksum


def test_existing_product_is_not_overwritten(bucket_store: S3Storage) -> None:
    first = write_zarr(bucket_store, "world/x.zarr", frames(2))
    with pytest.raises(StorageError, match="already exists"):
        write_zarr(bucket_store, "world/x.zarr", frames(2, seed=1))
    assert bucket_store.checksum(first.uri)[0] == first.checksum


@pytest.mark.parametrize("wrong", ["secret", "key"])
def test_wrong_credentials_name_the_endpoint_never_the_secret(
        ceph: CephCluster, bucket_store: S3Storage, wrong: str) -> None:
    secret = "Wr0ng-" + ceph.admin.secret_key[6:]
    creds = (S3Credentials(ceph.admin.access_key, secret) if wrong == "secret"
             else S3Credentials("NOSUCHKEY0000000000", ceph.admin.secret_key))
    store = open_s3(ceph.endpoint_url, creds, bucket_store.root)
    for attempt in (lambda: store.exists("world/x.zarr"),
                    lambda: write_zarr(store, "world/y.zarr", frames(1))):
        with pytest.raises(StorageCredentialsError) as err:
            attempt()
        message = str(err.value)
        assert ceph.endpoint_url in message and "WISEHUB_S3__SECRET_KEY" in message
        shown = "".join(traceback.format_exception(err.value))
        assert creds.secret_key not in shown and ceph.admin.secret_key not in shown
    assert not bucket_store.fs.find(bucket_store.root)


def test_secrets_never_reach_logs_or_reprs(ceph: CephCluster, bucket_store: S3Storage,
                                           caplog: pytest.LogCaptureFixture) -> None:
    secret = ceph.admin.secret_key
    with caplog.at_level(logging.DEBUG):
        with bucket_store.staged("world/logged.zarr") as write:
            assert secret not in repr(write) and secret not in repr(bucket_store)
            frames(2).to_zarr(write.url, storage_options=write.storage_options, mode="w-")
        xr.open_zarr(write.result.uri, storage_options=bucket_store.storage_options).load()
    assert any(r.name.startswith(("botocore", "s3fs")) for r in caplog.records)
    assert secret not in caplog.text


def test_chunks_still_in_flight_when_a_write_fails_do_not_land_after_its_clean_up(
        bucket_store: S3Storage) -> None:
    import dask.array as da

    def frame(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        if block_info[0]["chunk-location"][0] == 0:
            raise RuntimeError("detector readout failed")  # the first task fails at once
        time.sleep(0.5)  # the others are still computing, then PUT their chunk
        return block

    pixels = da.zeros((6, 64, 64), chunks=(1, 64, 64), dtype="f4").map_blocks(frame, dtype="f4")
    ds = xr.Dataset({"data": (("frame", "y", "x"), pixels)})
    with pytest.raises(RuntimeError, match="detector readout failed"):
        write_zarr(bucket_store, "private/ada/failed.zarr", ds)
    time.sleep(1.5)  # long after the slow tasks would have written, had they outlived the write
    assert not bucket_store.fs.find(bucket_store.root, refresh=True)
    retried = write_zarr(bucket_store, "private/ada/failed.zarr", frames())
    assert retried.size > 0


def test_full_quota_gives_a_clear_error_and_leaves_nothing(
        ceph: CephCluster, bucket_store: S3Storage, rgw_admin: RGWAdmin) -> None:
    rgw_admin.set_bucket_quota(bucket_store.root, ADMIN_UID, max_bytes=256 * 1024)
    # Every chunk (512 KiB of incompressible pixels) is over the quota by itself: RGW checks a
    # PUT against the bucket's size before it, so concurrent PUTs of smaller chunks could all
    # pass while the bucket is still empty.
    big = frames(n=4, size=512)
    with pytest.raises(StorageQuotaError) as err:
        write_zarr(bucket_store, "private/ada/big.zarr", big)
    assert "quota" in str(err.value) and ceph.endpoint_url in str(err.value)
    assert "nothing was registered" in str(err.value)
    assert not bucket_store.fs.find(bucket_store.root, refresh=True)
    rgw_admin.set_bucket_quota(bucket_store.root, ADMIN_UID, max_bytes=64 * 2**20)
    result = write_zarr(bucket_store, "private/ada/big.zarr", big)
    assert result.size > 2_000_000
