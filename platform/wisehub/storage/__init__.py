"""Product storage: fsspec filesystems from settings, with atomic, checksummed writes.

Local directories and S3 (Ceph RGW) behave alike; see :mod:`wisehub.storage.store` for the
staged-write protocol and :mod:`wisehub.storage.policy` for how the layout is enforced.

>>> from wisehub.config import Settings
>>> store = get_storage(Settings(data_dir="/srv/wh"))
>>> store.url("world/x.zarr")
'/srv/wh/products/world/x.zarr'
"""

from wisehub.storage.credentials import CredentialsError, S3Credentials
from wisehub.storage.errors import (
    StorageAccessDenied,
    StorageCredentialsError,
    StorageError,
    StorageQuotaError,
    StorageUnavailableError,
)
from wisehub.storage.factory import get_storage
from wisehub.storage.layout import layout_prefix
from wisehub.storage.s3 import storage_at
from wisehub.storage.store import StagedWrite, Storage, StoredObject

__all__ = [
    "CredentialsError",
    "S3Credentials",
    "StagedWrite",
    "Storage",
    "StorageAccessDenied",
    "StorageCredentialsError",
    "StorageError",
    "StorageQuotaError",
    "StorageUnavailableError",
    "StoredObject",
    "get_storage",
    "layout_prefix",
    "storage_at",
]
