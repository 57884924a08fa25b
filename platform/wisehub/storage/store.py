"""Storage backends from settings, and the staged-write protocol for products.

A product's data is written under a staging key next to its layout prefix
(``private/ada/.staging/<time>-<id>/…``), so the same per-user rights cover it. Only when the
write finished is it checksummed, moved to its final key and handed back for registration;
a failure removes the staging data (when the store still answers) and registers nothing.
Staging left behind by a crash is removed later by :meth:`Storage.cleanup_staging`.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fsspec

from wisehub.storage.errors import StorageError

if TYPE_CHECKING:
    import xarray as xr

STAGING = ".staging"
SHARED_KINDS = ("private", "groups", "projects")  # prefixes with one level of owners below
DEFAULT_STAGING_AGE_S = 24 * 3600.0
TRANSFER_THREADS = 16  # dask's local threads while writing to object storage


@dataclass(frozen=True)
class StoredObject:
    """What a committed write produced: where it is, its checksum and size in bytes.

    ``checksum`` is ``sha256:<hex>`` over the product's manifest: one line per object with
    its relative name, size and MD5. On S3 the MD5s are the ETags the server computed while
    receiving the bytes, so checksumming costs a listing, not a second read.
    """

    uri: str
    checksum: str
    size: int


@dataclass
class StagedWrite:
    """Where to write a product's data while it is staged (``url`` + ``storage_options``)."""

    url: str
    storage_options: dict[str, Any] = field(repr=False)
    result: StoredObject | None = field(default=None)

    def to_zarr(self, ds: xr.Dataset, **kwargs: Any) -> Any:
        """Write ``ds`` here as Zarr with consolidated metadata; ``kwargs`` go to
        :meth:`xarray.Dataset.to_zarr` (``compute=False`` returns the delayed write).

        Every chunk is written: products are dense, and zarr would otherwise compare each
        chunk with the fill value first (0.3 s of CPU per 0.5 GB, on the cores RGW needs).

        >>> import numpy as np, xarray as xr
        >>> with Storage.local("wh-doc/products").staged("world/z.zarr") as w:
        ...     _ = w.to_zarr(xr.Dataset({"a": ("x", np.zeros(3))}))
        >>> xr.open_zarr(w.result.uri).a.size
        3
        >>> Storage.local("wh-doc/products").delete("world/z.zarr")
        """
        return ds.to_zarr(self.url, storage_options=self.storage_options or None, mode="w-",
                          consolidated=True, write_empty_chunks=True, **kwargs)


ManifestLine = tuple[str, int, str]  # (relative name, size, md5 hex)


def check_key(key: str) -> str:
    """``key`` if it is a clean relative product key, else a :class:`StorageError`.

    >>> check_key("private/ada/x.zarr")
    'private/ada/x.zarr'
    """
    parts = key.split("/")
    if not key or key.startswith("/") or "://" in key or any(
            p in ("", ".", "..", STAGING) for p in parts):
        raise StorageError(f"invalid storage key {key!r}: use a relative path like "
                           "'private/<user>/<name>' without '..', '.staging' or empty parts")
    return key


def staging_base(key: str) -> str:
    """The staging area for ``key``: inside its layout prefix, so the same rights apply.

    >>> staging_base("private/ada/night/x.zarr"), staging_base("world/x"), staging_base("x")
    ('private/ada/.staging', 'world/.staging', '.staging')
    """
    parts = key.split("/")
    if parts[0] in SHARED_KINDS and len(parts) > 2:
        return f"{parts[0]}/{parts[1]}/{STAGING}"
    if parts[0] == "world" and len(parts) > 1:
        return f"world/{STAGING}"
    return STAGING


class Storage:
    """An fsspec filesystem rooted at the platform's product area.

    >>> s = Storage.local("wh-doc/products")
    >>> with s.staged("world/a.txt") as w:
    ...     s.fs.pipe_file(w.url, b"hello")
    >>> w.result.size
    5
    >>> s.delete("world/a.txt")
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
        return f"{type(self).__name__}({self.url('')!r}{where})"

    def url(self, key: str) -> str:
        """The full URL of a key below the root."""
        return self._url_of(f"{self.root}/{key}".rstrip("/"))

    def _path(self, key_or_url: str) -> str:
        if "://" in key_or_url or key_or_url.startswith("/"):
            return self.fs._strip_protocol(key_or_url)
        return f"{self.root}/{key_or_url}".rstrip("/")

    def _translate(self, err: BaseException, doing: str, consequence: str = "") -> BaseException:
        """Turn a backend error into a clear :class:`StorageError` (local errors are clear)."""
        return err

    @contextmanager
    def _errors(self, doing: str, consequence: str = "") -> Iterator[None]:
        try:
            yield
        except Exception as err:
            translated = self._translate(err, doing, consequence)
            if translated is err:
                raise
            raise translated from err

    def exists(self, key_or_url: str) -> bool:
        """Whether a key (or full URL) holds data."""
        path = self._path(key_or_url)
        with self._errors(f"looking for {self._url_of(path)}"):
            self.fs.invalidate_cache(path)
            return self.fs.exists(path)

    @contextmanager
    def staged(self, key: str) -> Iterator[StagedWrite]:
        """Write under a staging key; on success checksum it and move it to ``key``.

        Inside the block, object storage gets :func:`transfer_threads`.
        Raises :class:`StorageError` if ``key`` already holds data. On any exception inside
        the block, or while committing, the staging data (and any partial copy at ``key``)
        is removed and the exception propagates (S3 problems as a clear
        :class:`StorageError`); if the store stopped answering, :meth:`cleanup_staging`
        removes the leftovers later.
        """
        final = self._path(check_key(key))
        target = self.url(key)
        if self.exists(key):
            raise StorageError(f"{target} already exists; products are never overwritten")
        staging_dir = self._path(f"{staging_base(key)}/{int(time.time())}-{uuid.uuid4().hex}")
        staging = f"{staging_dir}/{key.rsplit('/', 1)[-1]}"
        write = StagedWrite(self._url_of(staging), dict(self.storage_options))
        nothing = "nothing was registered"
        committing = False
        try:
            with self._errors(f"writing {target}", nothing), transfer_threads(self.protocol):
                yield write
            with self._errors(f"committing {target}", nothing):
                manifest = self._manifest(staging)
                if not manifest:
                    raise StorageError(f"nothing was written for {target}; write to the "
                                       "staged url (StagedWrite.url) inside the block")
                committing = True
                self._commit(staging, final, manifest)
        except BaseException:
            if committing:
                self._remove_quietly(final)
            self._drop_staging(staging_dir)
            raise
        self._drop_staging(staging_dir)
        write.result = StoredObject(target, _digest(manifest), sum(m[1] for m in manifest))

    def _url_of(self, path: str) -> str:
        return path if self.protocol == "file" else f"{self.protocol}://{path}"

    def _commit(self, staging: str, final: str, manifest: list[ManifestLine]) -> None:
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        self.fs.mv(staging, final, recursive=True)  # a rename: atomic on a local disk

    def _md5(self, path: str, info: dict[str, Any]) -> str:
        return hashlib.md5(self.fs.cat_file(path), usedforsecurity=False).hexdigest()

    def manifest(self, key_or_url: str) -> list[ManifestLine]:
        """``(relative name, size, md5)`` of every object below a key, sorted by name."""
        return self._manifest(self._path(key_or_url))

    def _manifest(self, path: str) -> list[ManifestLine]:
        self.fs.invalidate_cache(path)
        found = self.fs.find(path, detail=True)  # a file's path finds the file itself
        return sorted((name[len(path):].lstrip("/"), int(info["size"]), self._md5(name, info))
                      for name, info in found.items())

    def checksum(self, key_or_url: str) -> tuple[str, int]:
        """The checksum (see :class:`StoredObject`) and total bytes of the data at a key."""
        with self._errors(f"checksumming {key_or_url}"):
            manifest = self._manifest(self._path(key_or_url))
        if not manifest:
            raise StorageError(f"no data at {self._url_of(self._path(key_or_url))}")
        return _digest(manifest), sum(m[1] for m in manifest)

    def delete(self, key_or_url: str) -> None:
        """Remove data (metadata elsewhere is kept)."""
        path = self._path(key_or_url)
        with self._errors(f"deleting {self._url_of(path)}"):
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)

    def _remove_quietly(self, path: str) -> None:
        with suppress(Exception):  # best effort: cleanup_staging() catches what is left
            self.fs.invalidate_cache(path)
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)

    def _drop_staging(self, staging_dir: str) -> None:
        """Remove one write's staging area, and the staging folder itself once it is empty."""
        self._remove_quietly(staging_dir)
        if self.protocol == "file":
            with suppress(OSError):  # still in use by another writer: keep it
                os.rmdir(staging_dir.rsplit("/", 1)[0])

    def _staging_areas(self, prefixes: Iterable[str] | None) -> Iterator[str]:
        if prefixes is not None:
            yield from (f"{self.root}/{p.strip('/')}/{STAGING}" for p in prefixes)
            return
        yield f"{self.root}/{STAGING}"
        yield f"{self.root}/world/{STAGING}"
        for kind in SHARED_KINDS:
            with suppress(FileNotFoundError, PermissionError):
                for owner in self.fs.ls(f"{self.root}/{kind}", detail=False, refresh=True):
                    yield f"{owner.rstrip('/')}/{STAGING}"

    def cleanup_staging(self, older_than_s: float = DEFAULT_STAGING_AGE_S,
                        prefixes: Iterable[str] | None = None) -> list[str]:
        """Remove abandoned staging areas older than ``older_than_s``; return what was removed.

        Without ``prefixes`` every layout prefix is searched (the platform's job: users may
        not list ``private/`` or ``groups/``); a user passes their own, e.g.
        ``["private/ada", "groups/lab"]``. Prefixes these credentials may not list are skipped.
        """
        removed = []
        with self._errors("cleaning up abandoned staging data"):
            for area in self._staging_areas(prefixes):
                try:
                    entries = self.fs.ls(area, detail=False, refresh=True)
                except (FileNotFoundError, PermissionError):
                    continue
                for entry in entries:
                    started = entry.rstrip("/").rsplit("/", 1)[-1].split("-", 1)[0]
                    if started.isdigit() and time.time() - int(started) > older_than_s:
                        self.fs.rm(entry, recursive=True)
                        removed.append(self._url_of(entry.rstrip("/")))
        return removed


@contextmanager
def transfer_threads(protocol: str) -> Iterator[None]:
    """While writing to object storage (``protocol`` not ``"file"``), give dask's local
    scheduler :data:`TRANSFER_THREADS` threads (at least one per core): each write task
    mostly waits on its PUT, and with one thread per core only two were in flight.
    Distributed clusters ignore this setting.

    >>> import dask
    >>> with transfer_threads("s3"):
    ...     dask.config.get("num_workers") >= 16
    True
    """
    if protocol == "file":
        yield
        return
    import dask

    with dask.config.set(num_workers=max(TRANSFER_THREADS, os.cpu_count() or 1)):
        yield


def _digest(manifest: list[ManifestLine]) -> str:
    text = "".join(f"{name}\t{size}\t{md5}\n" for name, size, md5 in manifest)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
