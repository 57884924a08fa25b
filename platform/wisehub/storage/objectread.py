"""Reads of uncompressed Zarr v3 chunks from S3 (Ceph RGW) without zarr's copy.

A zarr read of a chunk object makes a bytes object of the response (s3fs joins the pieces
the connection delivered), decodes it, then copies it into the task's output array. For a
16 MiB chunk, that second copy reads memory that has long left the CPU's caches: on this kind
of machine it held a read at 0.80-0.86 of a raw ``s3fs.cat`` of the same objects. For arrays
whose chunks are stored raw (only the ``bytes`` codec, in this machine's byte order, not
sharded), :class:`ObjectArray` hands a task that is one stored chunk a read-only view of the
object's bytes, as the local reader hands out views of mapped files
(:mod:`wisehub.storage.mmapread`); a task of several chunks fetches them all at once and
copies each into place. In ``bench_storage`` that reads at 0.95-0.98 of the raw read.

What was tried: copying each piece of the body into the task's array as it arrives reached
0.92-0.98 at best, but half its runs fell to 0.7. A fresh array of 4 MiB or more is
marked for transparent huge pages (numpy asks for them), the kernel compacts memory to
supply them when the array is first touched, and here that happened on the one thread that
runs every transfer. A bytes object gets ordinary pages. Compressed, sharded and other
arrays keep zarr's read path.

**Reading ahead.** Dask's local scheduler runs one task per core, so a scan of one-chunk tasks
had two GETs in flight, and a GET spends most of its time waiting: on the benchmark's RGW two
at a time read at 0.86 of all at once, four at a time at 0.96. So, as an operating system
reads ahead of a file read in sequence, a reader that sees a task take the stored chunk after
one it just read (in C order, either way: dask's order often walks an array backwards) fetches
the next :data:`READ_AHEAD_BYTES` of chunks of that run (at most :data:`READ_AHEAD_CHUNKS`)
before they are asked for (:mod:`wisehub.storage.readahead`). A lone read or a jump fetches
nothing extra; chunks fetched ahead and not taken within :data:`READ_AHEAD_SECONDS` are dropped.
Tasks of several chunks already fetch those at once and do not read ahead.

Chunk keys come from the array's own metadata (its chunk key encoding), a chunk never written
reads as the fill value, as in zarr, and a chunk object of the wrong size is an error naming it.

>>> ObjectArray.splits_free  # a part of a fetched chunk would cost a fetch of its own
False
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np
import xarray as xr

from wisehub.storage.mmapread import ChunkLayout, ChunkReader, Part, with_readers
from wisehub.storage.readahead import ScanTracker

READ_AHEAD_BYTES = 64 << 20
"""Bytes of stored chunks fetched ahead of a scan (four 16 MiB frames)."""

READ_AHEAD_CHUNKS = 8
"""At most this many chunks fetched ahead, however small."""

READ_AHEAD_SECONDS = 10.0
"""How long a chunk fetched ahead is kept for the task that should take it."""

Coords = tuple[int, ...]


class ChunkSizeError(ValueError):
    """A chunk object's size is not that of an uncompressed chunk of its array."""


class ObjectArray(ChunkReader):
    """An array-like over one raw, unsharded zarr v3 array in an S3 bucket.

    ``path`` is the array's ``bucket/prefix`` and ``fs`` an s3fs filesystem. A task's chunks
    are fetched concurrently on ``fs``'s event loop (s3fs retries what breaks off).
    """

    def __init__(self, path: str, array: Any, layout: ChunkLayout, fs: Any) -> None:
        super().__init__(path, array, layout)
        self.fs = fs
        self.chunk_bytes = math.prod(layout.chunk_shape) * self.dtype.itemsize
        self.grid = tuple(-(-s // c) for s, c in zip(self.shape, layout.chunk_shape,
                                                      strict=True))
        self.ahead = max(1, min(READ_AHEAD_CHUNKS, READ_AHEAD_BYTES // max(1, self.chunk_bytes)))
        self._start_reading_ahead()

    def _start_reading_ahead(self) -> None:
        self._lock = threading.Lock()
        self._fetched: dict[Coords, Future[bytes | None]] = {}  # fetched ahead: in flight, held
        self._scan = ScanTracker(math.prod(self.grid), self.ahead)

    def __getstate__(self) -> dict[str, Any]:
        """What a copy in another process needs: not the lock, nor what was read here."""
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_lock", "_fetched", "_scan")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._start_reading_ahead()

    async def _fetch(self, coords: Coords) -> bytes | None:
        """Stored chunk ``coords``'s object; None if it was never written."""
        path = f"{self.path}/{self.encode_key(coords)}"
        try:
            data = await self.fs._cat_file(path)
        except FileNotFoundError:
            return None
        if len(data) != self.chunk_bytes:
            raise ChunkSizeError(
                f"chunk object s3://{path} holds {len(data)} bytes; an uncompressed "
                f"{self.layout.chunk_shape} chunk of {self.dtype} holds {self.chunk_bytes}")
        return data

    async def _fetch_ahead(self, coords: Coords) -> bytes | None:
        """As :meth:`_fetch`, for a chunk not yet asked for: dropped if not taken in time."""
        try:
            return await self._fetch(coords)
        finally:
            asyncio.get_running_loop().call_later(READ_AHEAD_SECONDS, self._drop, coords)

    def _drop(self, coords: Coords) -> None:
        with self._lock:
            held = self._fetched.get(coords)
            if held is not None and held.done():
                del self._fetched[coords]

    def _claim(self, coords: list[Coords]) -> list[Future[bytes | None]]:
        """Futures of the chunks ``coords``: those fetched ahead, else fetched now. A single
        chunk read in a run starts the fetch of the next ones (:class:`ScanTracker`)."""
        loop = self.fs.loop
        with self._lock:
            futures = [self._fetched.pop(c, None)
                       or asyncio.run_coroutine_threadsafe(self._fetch(c), loop) for c in coords]
            if len(coords) == 1:
                for flat in self._scan.ahead_of(int(np.ravel_multi_index(coords[0], self.grid))):
                    ahead = tuple(int(i) for i in np.unravel_index(flat, self.grid))
                    if ahead not in self._fetched:
                        self._fetched[ahead] = asyncio.run_coroutine_threadsafe(
                            self._fetch_ahead(ahead), loop)
        return futures

    def _chunks(self, coords: list[Coords]) -> list[np.ndarray | None]:
        """The stored chunks ``coords``, fetched at once, as read-only views of their bytes."""
        return [None if data is None else
                np.frombuffer(data, self.dtype).reshape(self.layout.chunk_shape)
                for data in (future.result() for future in self._claim(coords))]

    def _fill(self, parts: list[Part]) -> None:
        chunks = self._chunks([coords for coords, _, _ in parts])
        for (_, src, out), chunk in zip(parts, chunks, strict=True):
            out[...] = self.fill_value if chunk is None else chunk[src]

    def _single(self, coords: tuple[int, ...], src: tuple[slice, ...]) -> np.ndarray:
        (chunk,) = self._chunks([coords])
        if chunk is None:
            return np.full([s.stop - s.start for s in src], self.fill_value, self.dtype)
        return chunk[src]  # a view, no copy


def is_s3(url: str) -> bool:
    """Whether ``url`` names an S3 object prefix.

    >>> is_s3("s3://wisehub/world/a.zarr"), is_s3("/data/a.zarr")
    (True, False)
    """
    return url.startswith(("s3://", "s3a://"))


def read_chunk_objects(ds: xr.Dataset, url: str, storage_options: Mapping[str, Any] | None,
                       task_bytes: int, *, group: Any = None) -> xr.Dataset:
    """``ds`` (opened from the Zarr at S3 ``url``) with its raw, unsharded variables read
    through :class:`ObjectArray`, in the same dask chunks; others are left as they are.
    ``group``, the store's root zarr group if already open, saves reading its metadata again.

    >>> import xarray as xr
    >>> ds = xr.Dataset({"a": ("x", [1, 2])})
    >>> read_chunk_objects(ds, "/data/a.zarr", None, 16 << 20) is ds  # not on S3: as it was
    True
    """
    import zarr
    from fsspec.core import url_to_fs

    if not is_s3(url):
        return ds
    options = dict(storage_options or {})
    fs, root = url_to_fs(url, **options)

    def object_reader(name: str, array: Any, layout: ChunkLayout) -> ObjectArray | None:
        if layout.compressor is not None or layout.shard_shape is not None:
            return None
        return ObjectArray(f"{root.rstrip('/')}/{name}", array, layout, fs)

    if group is None:
        group = zarr.open_group(url, mode="r", storage_options=options or None)
    return with_readers(ds, group, object_reader, task_bytes)
