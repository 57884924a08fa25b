"""Product storage: fsspec filesystems from settings, with atomic, checksummed writes.

Local directories and S3 (Ceph RGW) behave alike; see :mod:`wisehub.storage.store` for the
staged-write protocol and :mod:`wisehub.storage.policy` for how the layout is enforced.
Names resolve on first use, so code that only needs local storage never imports s3fs.

>>> from wisehub.config import Settings
>>> from wisehub.storage import get_storage
>>> store = get_storage(Settings(data_dir="/srv/wh"))
>>> store.url("world/x.zarr")
'/srv/wh/products/world/x.zarr'
"""

from wisehub.lazy import lazy_getattr

_LAZY = {
    "CredentialsError": "wisehub.storage.credentials:CredentialsError",
    "S3Credentials": "wisehub.storage.credentials:S3Credentials",
    "StagedWrite": "wisehub.storage.store:StagedWrite",
    "Storage": "wisehub.storage.store:Storage",
    "StorageAccessDenied": "wisehub.storage.errors:StorageAccessDenied",
    "StorageCredentialsError": "wisehub.storage.errors:StorageCredentialsError",
    "StorageError": "wisehub.storage.errors:StorageError",
    "StorageQuotaError": "wisehub.storage.errors:StorageQuotaError",
    "StorageUnavailableError": "wisehub.storage.errors:StorageUnavailableError",
    "StoredObject": "wisehub.storage.store:StoredObject",
    "get_storage": "wisehub.storage.factory:get_storage",
    "layout_prefix": "wisehub.storage.layout:layout_prefix",
    "storage_at": "wisehub.storage.s3:storage_at",
}

__getattr__ = lazy_getattr(globals(), _LAZY)

__all__ = sorted(_LAZY)
