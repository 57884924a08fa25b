"""Storage backends from settings, and the staged-write protocol for products.

A product's data is written under a staging key. Only when the write finished is it moved to
its final key, checksummed, and handed back for registration; a failure removes the staging
data and registers nothing.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import fsspec

from wisehub.config import Settings, get_settings

STAGING = ".staging"


class StorageError(RuntimeError):
    """A storage operation failed; the message names the location, never a secret."""


@dataclass(frozen=True)
class StoredObject:
    """What a committed write produced: where it is, its checksum and size in bytes."""

    uri: str
    checksum: str
    size: int


@dataclass
class StagedWrite:
    """Where to write a product's data while it is staged (``url`` + ``storage_options``)."""

    url: str
    storage_options: dict[str, Any]
    result: StoredObject | None = field(default=None)


class Storage:
    """An fsspec filesystem rooted at the platform's product area.

    >>> from wisehub.config import Settings
    >>> s = Storage.local("/tmp/wh-doc/products")
    >>> with s.staged("world/a.txt") as w:
    ...     s.fs.pipe_file(w.url, b"hello")
    >>> w.result.size
    5
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, root: str, protocol: str,
                 storage_options: dict[str, Any], endpoint: str | None = None) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.protocol = protocol
        self.storage_options = storage_options
        self.endpoint = endpoint

    @classmethod
    def local(cls, root: str) -> Storage:
        """Storage under a local directory."""
        fs = fsspec.filesystem("file", auto_mkdir=True)
        return cls(fs, fs._strip_protocol(root), "file", {})

    def __repr__(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"Storage({self.url('')!r}{where})"

    def url(self, key: str) -> str:
        """The full URL of a key below the root."""
        path = f"{self.root}/{key}".rstrip("/")
        return path if self.protocol == "file" else f"{self.protocol}://{path}"

    def exists(self, key_or_url: str) -> bool:
        """Whether a key (or full URL) holds data."""
        return self.fs.exists(self._path(key_or_url))

    def _path(self, key_or_url: str) -> str:
        if "://" in key_or_url or key_or_url.startswith("/"):
            return self.fs._strip_protocol(key_or_url)
        return f"{self.root}/{key_or_url}"

    @contextmanager
    def staged(self, key: str) -> Iterator[StagedWrite]:
        """Write under a staging key; on success move to ``key`` and checksum it.

        Raises :class:`StorageError` if ``key`` already holds data. On any exception inside
        the block the staging data is removed and the exception propagates.
        """
        final = self._path(key)
        if self.fs.exists(final):
            raise StorageError(f"{self.url(key)} already exists; products are never overwritten")
        staging_key = f"{STAGING}/{int(time.time())}-{uuid.uuid4().hex}/{key.rsplit('/', 1)[-1]}"
        write = StagedWrite(self.url(staging_key), dict(self.storage_options))
        try:
            yield write
            checksum, size = self.checksum(write.url)
            self._move(self._path(staging_key), final)
        except BaseException:
            self._remove_quietly(self._path(staging_key).rsplit("/", 1)[0])
            raise
        self._remove_quietly(self._path(staging_key).rsplit("/", 1)[0])
        write.result = StoredObject(self.url(key), checksum, size)

    def _move(self, src: str, dst: str) -> None:
        if self.protocol == "file":
            self.fs.makedirs(dst.rsplit("/", 1)[0], exist_ok=True)
            self.fs.mv(src, dst, recursive=True)
        else:
            self.fs.copy(src, dst, recursive=True)
            self.fs.rm(src, recursive=True)

    def _remove_quietly(self, path: str) -> None:
        try:
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except OSError:
            pass

    def checksum(self, key_or_url: str) -> tuple[str, int]:
        """``sha256:<hex>`` over every file below a key (names and contents), and total bytes."""
        path = self._path(key_or_url)
        files = sorted(self.fs.find(path)) if self.fs.isdir(path) else [path]
        digest, total = hashlib.sha256(), 0
        for name in files:
            data = self.fs.cat_file(name)
            digest.update(name[len(path):].encode() + b"\0" + hashlib.sha256(data).digest())
            total += len(data)
        return f"sha256:{digest.hexdigest()}", total

    def delete(self, key_or_url: str) -> None:
        """Remove data (metadata elsewhere is kept)."""
        self._remove_quietly(self._path(key_or_url))

    def cleanup_staging(self, older_than_s: float = 3600.0) -> list[str]:
        """Remove abandoned staging areas older than ``older_than_s``; return what was removed."""
        base = f"{self.root}/{STAGING}"
        if not self.fs.exists(base):
            return []
        removed = []
        for entry in self.fs.ls(base, detail=False):
            started = entry.rsplit("/", 1)[-1].split("-", 1)[0]
            if started.isdigit() and time.time() - int(started) > older_than_s:
                self._remove_quietly(entry)
                removed.append(entry)
        return removed


def get_storage(settings: Settings | None = None) -> Storage:
    """The platform's product storage from settings (local directory by default)."""
    settings = settings or get_settings()
    if settings.storage == "local":
        return Storage.local(str(settings.data_dir / "products"))
    from wisehub.storage.s3 import s3_storage

    return s3_storage(settings)
