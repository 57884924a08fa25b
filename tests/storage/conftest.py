"""Fixtures for storage tests on the session's real Ceph RGW (``ceph``, tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest
from wisehub.dev.ceph import CephCluster
from wisehub.storage.rgw_admin import RGWAdmin
from wisehub.storage.s3 import S3Storage, open_s3


@pytest.fixture(scope="session")
def rgw_admin(ceph: CephCluster) -> RGWAdmin:
    """The RGW admin API, signed with the platform's admin user."""
    return RGWAdmin(ceph.endpoint_url, ceph.admin)


@pytest.fixture
def bucket_store(ceph: CephCluster) -> S3Storage:
    """A fresh bucket owned by the platform's admin user, one per test."""
    store = open_s3(ceph.endpoint_url, ceph.admin, f"t-{uuid.uuid4().hex[:12]}")
    store.ensure_bucket()
    return store
