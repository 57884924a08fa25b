"""Product storage: fsspec filesystems from settings, with atomic, checksummed writes.

>>> from wisehub.config import Settings
>>> store = get_storage(Settings(data_dir="/tmp/wh-doc"))
>>> store.url("world/x.zarr").endswith("/tmp/wh-doc/products/world/x.zarr")
True
"""

from wisehub.storage.layout import layout_prefix
from wisehub.storage.store import Storage, StagedWrite, StorageError, StoredObject, get_storage

__all__ = [
    "StagedWrite",
    "Storage",
    "StorageError",
    "StoredObject",
    "get_storage",
    "layout_prefix",
]
