"""publish() onto a real Ceph RGW with a user's own keys, read back through plain intake,
and what happens when the gateway stops in the middle of a publish.

Starts: a single-node Ceph (mon, memstore OSD, RGW) on 127.0.0.1, once per session.
"""

from __future__ import annotations

from pathlib import Path

import dask
import intake
import numpy as np
import pytest
import xarray as xr
from wisehub.catalog.publish import publish
from wisehub.config import Settings
from wisehub.dev.ceph import CephCluster
from wisehub.storage import S3Credentials, StorageUnavailableError
from wisehub.storage.policy import Membership
from wisehub.storage.provision import provision
from wisehub.storage.rgw_admin import RGWAdmin
from wisehub.storage.s3 import S3Storage, open_s3, s3_env

pytestmark = pytest.mark.ceph


def frames(n: int = 6) -> xr.Dataset:
    data = np.random.default_rng(7).normal(1000, 10, (n, 48, 64)).astype(np.float32)
    return xr.Dataset({"data": (("frame", "y", "x"), data)},
                      coords={"EXPTIME": ("frame", np.full(n, 30.0))}).chunk({"frame": 1})


@pytest.fixture
def ada(ceph: CephCluster, rgw_admin: RGWAdmin,
        bucket_store: S3Storage) -> tuple[Settings, S3Storage, S3Credentials]:
    """Platform user ada, in group lab, with her own RGW keys."""
    keys = provision(rgw_admin, bucket_store, {"ada": Membership(groups=["lab"])})["ada"]
    settings = Settings(data_dir="/tmp/wh-unused", user="ada", groups=["lab"], storage="s3",
                        s3={"endpoint_url": ceph.endpoint_url, "bucket": bucket_store.root,
                            "access_key": keys.access_key, "secret_key": keys.secret_key})
    return settings, open_s3(ceph.endpoint_url, keys, bucket_store.root), keys


def test_published_on_s3_reads_back_through_plain_intake(
        ceph: CephCluster, ada: tuple[Settings, S3Storage, S3Credentials], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings, store, keys = ada
    ds = frames()
    catalog = tmp_path / "products.yaml"
    stored = publish(ds, "lab.stack", catalog, privilege="group", settings=settings,
                     storage=store)
    assert stored.uri.startswith(f"s3://{store.root}/groups/lab/lab.stack-")
    assert keys.secret_key not in catalog.read_text()
    for name, value in s3_env(ceph.endpoint_url, keys, store.root).items():
        monkeypatch.setenv(name, value)
    back = intake.from_yaml_file(str(catalog))["lab.stack"].read()
    assert back["data"].chunks is not None
    xr.testing.assert_identical(back.compute(), ds.compute())


def test_rgw_stopping_mid_publish_registers_nothing_and_a_retry_succeeds(
        ceph: CephCluster, ada: tuple[Settings, S3Storage, S3Credentials],
        tmp_path: Path) -> None:
    settings, store, _ = ada
    ds = frames()

    def stop_rgw_at_third_frame(block: np.ndarray, block_info: dict) -> np.ndarray:
        if block_info[0]["chunk-location"][0] == 2:
            ceph.stop_rgw()
        return block

    failing = ds.copy()
    failing["data"] = (ds["data"].dims,
                       ds["data"].data.map_blocks(stop_rgw_at_third_frame, dtype=np.float32))
    catalog = tmp_path / "products.yaml"
    publish(ds.isel(frame=[0]), "earlier", catalog, settings=settings, storage=store)
    before = catalog.read_text()
    try:
        with pytest.raises(StorageUnavailableError) as err, dask.config.set(scheduler="sync"):
            publish(failing, "night", catalog, settings=settings, storage=store)
    finally:
        ceph.start_rgw()
    message = str(err.value)
    assert ceph.endpoint_url in message and "nothing was registered" in message
    assert settings.s3.secret_key.get_secret_value() not in message
    assert catalog.read_text() == before
    # What the dead gateway kept us from removing is cleaned up later; data stays.
    leftovers = store.cleanup_staging(older_than_s=-1, prefixes=["private/ada", "groups/lab"])
    assert [u.rsplit("/", 1)[0] for u in leftovers] == [store.url("private/ada/.staging")]
    assert [p.rsplit("/", 1)[1].split("-")[0] for p in store.fs.ls(
        store.url("private/ada"), detail=False, refresh=True) if p.endswith(".zarr")
    ] == ["earlier"]
    stored = publish(ds, "night", catalog, settings=settings, storage=store)
    back = intake.from_yaml_file(str(catalog))["night"]
    assert back.metadata["checksum"] == stored.checksum
    xr.testing.assert_identical(
        xr.open_zarr(stored.uri, storage_options=store.storage_options).compute(), ds.compute())
