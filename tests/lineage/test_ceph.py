"""Targets writing product data to a real Ceph RGW (the session's ``ceph`` fixture)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import toys
from wisehub.lineage import Context, LineageStore
from wisehub.storage.s3 import open_s3


@pytest.mark.ceph
def test_products_on_ceph_are_staged_then_registered(ceph, tmp_path, monkeypatch):
    bucket = open_s3(ceph.endpoint_url, ceph.admin, f"lin-{uuid.uuid4().hex[:12]}")
    bucket.ensure_bucket()
    store = LineageStore(f"sqlite:///{tmp_path / 'l.sqlite'}", Context("ada"), storage=bucket)
    toys.register_night(store)

    bias = toys.Bias.get(store=store, night="2024-03-01", chip="c1")
    assert bias.data_uri.startswith("s3://") and "/private/ada/Bias/" in bias.data_uri
    assert bucket.checksum(bias.data_uri) == (bias.checksum, bias.size)
    assert np.allclose(bias.open()["data"].values, 101.0)

    original = toys.xr.Dataset.to_zarr

    def broken(self, *args, **kwargs):  # the data reaches staging, then the write fails
        original(self, *args, **kwargs)
        raise OSError("RGW went away mid-write")

    monkeypatch.setattr(toys.xr.Dataset, "to_zarr", broken)
    with pytest.raises(OSError, match="mid-write"):
        toys.Flat.get(store=store, night="2024-03-01", chip="c1")
    assert toys.Flat.query().using(store).all() == []
    assert not [k for k in bucket.fs.find(bucket.root) if ".staging" in k or "/Flat/" in k]
