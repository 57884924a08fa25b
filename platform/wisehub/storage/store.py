"""Storage backends from settings, and the staged-write protocol for products.

Every write has a staging area next to its layout prefix
(``private/ada/.staging/<time>-<key digest>-<id>/``, so the same per-user rights cover it)
and a lease beside it (``….lease``, naming the key) that the writer renews while it works.

- On a local disk the data is written into the staging area and renamed into place (atomic).
- On object storage, which cannot rename, chunks are written at their final keys and the
  Zarr metadata is held back in the writer's memory (:mod:`wisehub.storage.commitstore`);
  the commit writes those few small objects in, the root's metadata last. No chunk is copied,
  and nothing but the lease goes to the staging area.

Only after the commit is the product checksummed and handed back for registration; a failure
removes what was written (when the store still answers) and registers nothing. Writes whose
lease is no longer renewed are removed later by :meth:`Storage.cleanup_staging`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fsspec

from wisehub.storage.chunkcount import incomplete_arrays
from wisehub.storage.errors import StorageError
from wisehub.storage.zarrkeys import is_metadata, metadata_last

if TYPE_CHECKING:
    import xarray as xr

STAGING = ".staging"
SHARED_KINDS = ("private", "groups", "projects")  # prefixes with one level of owners below
LEASE_SUFFIX = ".lease"
LEASE_RENEW_S = 30.0  # how often a live writer renews its lease
DEFAULT_STAGING_AGE_S = 600.0  # a lease not renewed for this long has no live writer
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
    #: Object storage: the Zarr metadata, held back here (the contents of a zarr MemoryStore)
    #: until the commit writes it in. None: the data is written where it is staged.
    held: dict[str, Any] | None = field(default=None, repr=False)
    consolidate: bool = False  # the commit consolidates the held metadata first
    dense: bool = False  # a Zarr with every chunk written: the commit counts them

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
        options = {"mode": "w-", "consolidated": True, "write_empty_chunks": True, **kwargs}
        self.dense = bool(options["write_empty_chunks"])
        if self.held is None:
            return ds.to_zarr(self.url, storage_options=self.storage_options or None, **options)
        from wisehub.storage.commitstore import open_aside

        # Consolidated by the commit, from the held metadata: a delayed write (compute=False)
        # would consolidate in a task, on a Dask worker's copy of it.
        self.consolidate = bool(options["consolidated"])
        return ds.to_zarr(open_aside(self.url, self.held, self.storage_options),
                          **(options | {"consolidated": False}))


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
        """Write a product for ``key``; on success commit and checksum it.

        Inside the block, object storage gets :func:`transfer_threads`.
        Raises :class:`StorageError` if ``key`` already holds a product, or another writer
        is writing it. On any exception inside the block, or while committing, what was
        written is removed and the exception propagates (S3 problems as a clear
        :class:`StorageError`); if the store stopped answering, :meth:`cleanup_staging`
        removes the leftovers once their lease is no longer renewed. A retry is safe: it
        removes the leftovers of an earlier write of ``key`` whose writer is gone.
        """
        final = self._path(check_key(key))
        target = self.url(key)
        self._claim(key, final, target)
        area = self._path(staging_base(key))
        staging_dir = f"{area}/{int(time.time())}-{_key_digest(key)}-{uuid.uuid4().hex}"
        write = self._staged_write(final, f"{staging_dir}/{key.rsplit('/', 1)[-1]}")
        nothing = "nothing was registered"
        committing = False
        lease = _Lease(self.fs, staging_dir, key)
        with self._errors(f"writing {target}", nothing):
            lease.start()
        try:
            with self._errors(f"writing {target}", nothing), transfer_threads(self.protocol):
                yield write
            with self._errors(f"committing {target}", nothing):
                committing = True
                manifest = self._commit(write, final, target)
                if write.dense:
                    self._check_chunks(final, manifest, target)
        except BaseException:
            lease.stop()
            if committing or self.writes_in_place:
                self._remove_quietly(final)
            self._drop_staging(staging_dir)
            raise
        lease.stop()
        self._drop_staging(staging_dir)
        write.result = StoredObject(target, _digest(manifest), sum(m[1] for m in manifest))

    #: Whether data is written at the final key before the commit (object storage).
    writes_in_place = False

    def _url_of(self, path: str) -> str:
        return path if self.protocol == "file" else f"{self.protocol}://{path}"

    def _claim(self, key: str, final: str, target: str) -> None:
        """Refuse a key that holds a product or has a live writer; clear a dead one's data."""
        if not self.exists(key):
            return
        leases = self._leases(staging_base(key), key)
        if not leases or self._committed(final):
            raise StorageError(f"{target} already exists; products are never overwritten")
        if any(time.time() - renewed < DEFAULT_STAGING_AGE_S for renewed in leases.values()):
            raise StorageError(f"{target} is being written by another writer; choose another "
                               "key, or retry once it has finished")
        self._remove_quietly(final)  # an earlier write of this key that died uncommitted
        for staging_dir in leases:
            self._drop_staging(staging_dir)

    def _leases(self, base: str, key: str) -> dict[str, float]:
        """Staging areas of writes of ``key`` under ``base``, with their lease's last renewal."""
        marker = f"-{_key_digest(key)}-"
        return {path[:-len(LEASE_SUFFIX)]: renewed
                for path, renewed in self._lease_times(self._path(base)).items()
                if marker in path.rsplit("/", 1)[-1]}

    def _lease_times(self, area: str) -> dict[str, float]:
        try:
            entries = self.fs.ls(area, detail=True, refresh=True)
        except (FileNotFoundError, PermissionError):
            return {}
        return {e["name"].rstrip("/"): _modified(e) for e in entries
                if e["name"].endswith(LEASE_SUFFIX)}

    def _staged_write(self, final: str, staging: str) -> StagedWrite:
        return StagedWrite(self._url_of(staging), dict(self.storage_options))

    def _commit(self, write: StagedWrite, final: str, target: str) -> list[ManifestLine]:
        staging = self._path(write.url)
        manifest = self._manifest(staging)
        if not manifest:
            raise StorageError(f"nothing was written for {target}; write to the "
                               "staged url (StagedWrite.url) inside the block")
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        self.fs.mv(staging, final, recursive=True)  # a rename: atomic on a local disk
        return manifest

    def _check_chunks(self, final: str, manifest: list[ManifestLine], target: str) -> None:
        """Refuse a committed Zarr missing chunks its metadata promises (a partial write)."""
        problems = incomplete_arrays((name for name, _, _ in manifest),
                                     lambda name: json.loads(self.fs.cat_file(
                                         join_key(final, name))))
        if problems:
            raise StorageError(f"{target} is incomplete ({'; '.join(problems)}): a write "
                               "was cut short; nothing was registered, please retry")

    def _md5(self, path: str, info: dict[str, Any]) -> str:
        return content_md5(self.fs.cat_file(path))

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

    def key_of(self, uri: str) -> str | None:
        """The key of ``uri`` below this storage's root, or None if it lies elsewhere.

        >>> s = Storage.local("/srv/wh/products")
        >>> s.key_of("/srv/wh/products/private/ada/x.zarr"), s.key_of("/data/raw.zarr")
        ('private/ada/x.zarr', None)
        """
        path = self._path(uri)
        return path[len(self.root) + 1:] if path.startswith(self.root + "/") else None

    def copy(self, source: str, key: str) -> StoredObject:
        """Copy the data at ``source`` (a key or URL) to the new key ``key``, staged.

        The copy is committed like any write and checked against the source's manifest; on
        any failure nothing is left at ``key`` and the source is untouched.

        >>> s = Storage.local("wh-doc/products")
        >>> with s.staged("private/ada/c.txt") as w:
        ...     s.fs.pipe_file(w.url, b"hi")
        >>> s.copy("private/ada/c.txt", "world/c.txt").checksum == w.result.checksum
        True
        >>> s.delete("private/ada/c.txt"); s.delete("world/c.txt")
        """
        path = self._path(source)
        with self._errors(f"reading {self._url_of(path)}"):
            wanted = self._manifest(path)
        if not wanted:
            raise StorageError(f"no data at {self._url_of(path)} to copy")
        with self.staged(key) as write:
            destination = self._path(write.url)
            chunks = [name for name, _, _ in wanted if not is_metadata(name)]
            # Metadata last, the root's at the end: until then the copy opens as nothing.
            for batch in [chunks, *metadata_last(n for n, _, _ in wanted if is_metadata(n))]:
                for name in batch:
                    self.fs.copy(join_key(path, name), join_key(destination, name))
        stored = write.result
        if stored is None or stored.checksum != _digest(wanted):
            self._remove_quietly(self._path(key))
            raise StorageError(f"copying {self._url_of(path)} to {self.url(key)} gave "
                               "different data; the copy was removed, the source is kept")
        return stored

    def swap(self, new_key: str, key: str) -> None:
        """Put the complete data at ``new_key`` in place of the data at ``key``.

        The old data goes only once the new data is in place: on a local disk the old is
        renamed aside, the new renamed in (the old renamed back if that fails), then the old
        removed. Object storage cannot rename; see :meth:`S3Storage.swap`.

        >>> s = Storage.local("wh-doc/products")
        >>> for key, text in (("world/v.txt", b"old"), ("world/v.txt.new", b"new")):
        ...     with s.staged(key) as w:
        ...         s.fs.pipe_file(w.url, text)
        >>> s.swap("world/v.txt.new", "world/v.txt")
        >>> s.fs.cat(s.url("world/v.txt")), s.exists("world/v.txt.new")
        (b'new', False)
        >>> s.delete("world/v.txt")
        """
        new, final = self._path(check_key(new_key)), self._path(check_key(key))
        aside = f"{final}.replaced-{uuid.uuid4().hex[:8]}"
        with self._errors(f"replacing {self._url_of(final)}"):
            self.fs.mv(final, aside, recursive=True)
            try:
                self.fs.mv(new, final, recursive=True)
            except BaseException:
                self.fs.mv(aside, final, recursive=True)
                raise
        self._remove_quietly(aside)

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
        """Remove one write's staging area and lease, and the staging folder once empty."""
        if not self.writes_in_place:  # else only the lease was written
            self._remove_quietly(staging_dir)
        self._remove_quietly(staging_dir + LEASE_SUFFIX)
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
        """Remove writes that no live writer holds; return the staging areas removed.

        A write is abandoned once its lease has not been renewed for ``older_than_s``
        (staging without a lease, from older versions, counts from its start). Its staging
        area goes, and on object storage also the chunks it wrote at the product's key,
        unless that key holds committed Zarr metadata.

        Without ``prefixes`` every layout prefix is searched (the platform's job: users may
        not list ``private/`` or ``groups/``); a user passes their own, e.g.
        ``["private/ada", "groups/lab"]``. Prefixes these credentials may not list are skipped.
        """
        removed = []
        with self._errors("cleaning up abandoned staging data"):
            for area in self._staging_areas(prefixes):
                for staging_dir, last_sign in sorted(self._writes(area).items()):
                    if time.time() - last_sign > older_than_s:
                        self._remove_uncommitted(staging_dir)
                        for path in (staging_dir, staging_dir + LEASE_SUFFIX):
                            if self.fs.exists(path):
                                self.fs.rm(path, recursive=True)
                        removed.append(self._url_of(staging_dir))
        return removed

    def _writes(self, area: str) -> dict[str, float]:
        """Each write's staging area in ``area`` and its last sign of life."""
        try:
            entries = self.fs.ls(area, detail=False, refresh=True)
        except (FileNotFoundError, PermissionError):
            return {}
        writes = {}
        for entry in entries:
            name = entry.rstrip("/").rsplit("/", 1)[-1].removesuffix(LEASE_SUFFIX)
            started = name.split("-", 1)[0]
            if started.isdigit():
                writes[f"{area}/{name}"] = float(started)
        leases = self._lease_times(area)
        return {d: leases.get(d + LEASE_SUFFIX, started) for d, started in writes.items()}

    def _committed(self, final: str) -> bool:
        """Whether the data at ``final`` was committed (on a local disk only a rename puts
        anything there)."""
        return True

    def _remove_uncommitted(self, staging_dir: str) -> None:
        """Remove the data an abandoned write left at its final key (none on a local disk)."""


@contextmanager
def transfer_threads(protocol: str) -> Iterator[None]:
    """While writing to object storage (``protocol`` not ``"file"``), give dask's local
    scheduler a pool of its own with :data:`TRANSFER_THREADS` threads (at least one per
    core): each write task mostly waits on its PUT, and with one thread per core only two
    were in flight. Distributed clusters ignore this setting.

    The block ends only when no task of the pool runs any more: a failed write raises at
    its first failed task while others are still sending their chunks, and what they write
    must not land after the failed write's clean-up.

    >>> import dask
    >>> with transfer_threads("s3"):
    ...     dask.config.get("pool")._max_workers >= 16
    True
    """
    if protocol == "file":
        yield
        return
    import dask
    from dask.threaded import ContextAwareThreadPoolExecutor  # dask's own kind of pool

    pool = ContextAwareThreadPoolExecutor(max(TRANSFER_THREADS, os.cpu_count() or 1),
                                          thread_name_prefix="wisehub-transfer")
    try:
        with dask.config.set(pool=pool):
            yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Lease:
    """A writer's lease: an object beside its staging area, renewed until the block ends."""

    def __init__(self, fs: fsspec.AbstractFileSystem, staging_dir: str, key: str) -> None:
        self.fs, self.path = fs, staging_dir + LEASE_SUFFIX
        self.payload = json.dumps({"key": key, "host": os.uname().nodename,
                                   "pid": os.getpid()}).encode()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True,
                                        name="wisehub-storage-lease")

    def _renew(self) -> None:
        while not self._done.wait(LEASE_RENEW_S):
            with suppress(Exception):  # the store is away; the write itself will say so
                self.fs.pipe_file(self.path, self.payload)

    def start(self) -> None:
        """Take the lease (before anything is written) and renew it from a thread."""
        self.fs.pipe_file(self.path, self.payload)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (before the lease is removed, so no renewal brings it back)."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()


def lease_key(fs: fsspec.AbstractFileSystem, staging_dir: str) -> str | None:
    """The product key a write's lease names, or None without a readable lease."""
    try:
        return json.loads(fs.cat_file(staging_dir + LEASE_SUFFIX))["key"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _modified(info: dict[str, Any]) -> float:
    """When an ``ls`` entry was last written, as a unix time (local mtime or S3 LastModified)."""
    if "mtime" in info:
        return float(info["mtime"])
    return info["LastModified"].timestamp()


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def join_key(base: str, name: str) -> str:
    """``base/name``, or ``base`` for the empty name (a single object's manifest line).

    >>> join_key("a/b.zarr", "zarr.json"), join_key("a/b.bin", "")
    ('a/b.zarr/zarr.json', 'a/b.bin')
    """
    return f"{base}/{name}" if name else base


def content_md5(data: bytes) -> str:
    """The MD5 of ``data`` in hex, as a manifest line holds it (and as S3 gives a
    single-part object's ETag).

    >>> content_md5(b"")
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _digest(manifest: list[ManifestLine]) -> str:
    text = "".join(f"{name}\t{size}\t{md5}\n" for name, size, md5 in manifest)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
