"""Zero-copy reads of uncompressed Zarr v3 chunks on a local or mounted POSIX filesystem.

The page cache already holds a local store's chunk files; copying them into fresh memory
(what a zarr read does: ``read()`` into a new buffer, then into the output array) costs
ten times the arithmetic of a mean on this kind of machine. So for arrays whose chunks
are stored raw (only the ``bytes`` codec, in this machine's byte order; plain or inside
``sharding_indexed`` shards), each dask task gets a read-only view of the memory-mapped chunk
file itself. The dask chunks are those of :func:`wisehub.storage.zarrio.read_chunks`, except
that a stored chunk larger than a task is split into bands of whole rows (every frame of a
band of the image plane, as a combine wants them), each still a view; dask's own rechunk
would copy such slices. Small stored chunks are grouped into tasks of about 16 MiB,
assembled from views in one copy. Compressed arrays, other codecs and other filesystems keep
zarr's own read path, except zstd or blosc chunks, which are decoded into place
(:class:`DecodedArray`).

>>> import numpy as np, tempfile, xarray as xr
>>> path = tempfile.mkdtemp() + "/s.zarr"
>>> data = np.arange(2 * 2048 * 1024, dtype="f4").reshape(2, 2048, 1024)  # 16 MiB
>>> ds = xr.Dataset({"a": (("f", "y", "x"), data)})
>>> _ = ds.to_zarr(path, zarr_format=3, encoding={"a": {"compressors": None}})
>>> mapped = read_in_place(xr.open_zarr(path), path, 16 << 20)
>>> def copied(block):  # inside a task: is the block its own (fresh) memory?
...     return np.full((1, 1, 1), block.flags.owndata or block.flags.writeable)
>>> bool(mapped.a.data.map_blocks(copied, chunks=(1, 1, 1), dtype=bool).any())
False
>>> bool(float(mapped.a.mean()) == data.mean())
True
"""

from __future__ import annotations

import math
import mmap
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import xarray as xr

from wisehub.storage.bufferpool import BufferPool

_EMPTY = np.iinfo(np.uint64).max  # a shard index entry of a chunk that was never written

Part = tuple[tuple[int, ...], tuple[slice, ...], np.ndarray]
"""What a task reads of one stored chunk: its coordinates, the part of it, and where to."""


def is_local(url: str) -> bool:
    """Whether ``url`` is a path on a POSIX filesystem (not an fsspec URL)."""
    return "://" not in url or url.startswith("file://")


@dataclass(frozen=True)
class ChunkLayout:
    """Where an array's raw chunks are: chunk shape, and the shard shape when sharded."""

    chunk_shape: tuple[int, ...]
    shard_shape: tuple[int, ...] | None
    index_bytes: int
    index_at_end: bool
    compressor: str | None = None  # "zstd" or "blosc": each chunk file is one compressed frame


def _raw_codecs(codecs: list[Any]) -> bool:
    return (len(codecs) == 1 and type(codecs[0]).__name__ == "BytesCodec"
            and (codecs[0].endian is None or codecs[0].endian.value == _native()))


def _native() -> str:
    import sys

    return sys.byteorder


_COMPRESSORS = {"ZstdCodec": "zstd", "BloscCodec": "blosc"}


def chunk_layout(metadata: Any) -> ChunkLayout | None:
    """The layout of a zarr v3 array's metadata: raw (plain or sharded), or unsharded chunks
    that are bytes then one zstd or blosc compressor; None for anything else."""
    if getattr(metadata, "zarr_format", None) != 3:
        return None
    codecs = list(metadata.codecs)
    outer = tuple(metadata.chunk_grid.chunk_shape)
    if _raw_codecs(codecs):
        return ChunkLayout(outer, None, 0, True)
    if len(codecs) == 2 and _raw_codecs(codecs[:1]) and type(codecs[1]).__name__ in _COMPRESSORS:
        return ChunkLayout(outer, None, 0, True, _COMPRESSORS[type(codecs[1]).__name__])
    if len(codecs) == 1 and type(codecs[0]).__name__ == "ShardingCodec":
        shard = codecs[0]
        if not _raw_codecs(list(shard.codecs)):
            return None
        names = [type(c).__name__ for c in shard.index_codecs]
        if names not in (["BytesCodec"], ["BytesCodec", "Crc32cCodec"]):
            return None
        inner = tuple(shard.chunk_shape)
        count = math.prod(o // i for o, i in zip(outer, inner, strict=True))
        return ChunkLayout(inner, outer, 16 * count + 4 * (len(names) - 1),
                       shard.index_location.value == "end")
    return None


class ChunkReader:
    """An array-like over one zarr v3 array, read stored chunk by stored chunk."""

    splits_free = False
    """Whether a part of a chunk costs nothing to hand out (a view): then tasks larger than
    the target become bands of rows (:func:`banded`)."""

    def __init__(self, path: str, array: Any, layout: ChunkLayout) -> None:
        self.path = path
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype).newbyteorder("=")
        self.ndim = len(self.shape)
        self.fill_value = array.metadata.fill_value
        self.encode_key = array.metadata.chunk_key_encoding.encode_chunk_key
        self.layout = layout

    def _extent(self, coords: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of stored chunk ``coords`` inside the array (edge chunks are cut)."""
        return tuple(min(c, s - i * c) for i, c, s in
                     zip(coords, self.layout.chunk_shape, self.shape, strict=True))

    def _single(self, coords: tuple[int, ...], src: tuple[slice, ...]) -> np.ndarray:
        """Part ``src`` of stored chunk ``coords``, as its own array."""
        raise NotImplementedError

    def _into(self, coords: tuple[int, ...], src: tuple[slice, ...], out: np.ndarray) -> None:
        """Write part ``src`` of stored chunk ``coords`` into ``out``."""
        raise NotImplementedError

    def __getitem__(self, key: Any) -> np.ndarray:
        """Basic indexing (slices with step 1, integers, ``...``), as dask's getters use;
        any other key indexes the whole array read first."""
        key = key if isinstance(key, tuple) else (key,)
        if Ellipsis in key:
            at = key.index(Ellipsis)
            key = key[:at] + (slice(None),) * (self.ndim - len(key) + 1) + key[at + 1:]
        key = key + (slice(None),) * (self.ndim - len(key))
        picked = tuple(isinstance(k, (int, np.integer)) for k in key)
        if not all(p or (isinstance(k, slice) and k.step in (None, 1))
                   for k, p in zip(key, picked, strict=True)):
            return self._read(tuple(slice(None) for _ in self.shape))[key]
        key = tuple(slice(int(k) % s, int(k) % s + 1) if p else k
                    for k, p, s in zip(key, picked, self.shape, strict=True))
        return self._read(key)[tuple(0 if p else slice(None) for p in picked)]

    def _read(self, key: tuple[slice, ...]) -> np.ndarray:
        starts = [k.indices(s)[0] for k, s in zip(key, self.shape, strict=False)]
        stops = [k.indices(s)[1] for k, s in zip(key, self.shape, strict=False)]
        chunk = self.layout.chunk_shape
        first = [a // c for a, c in zip(starts, chunk, strict=True)]
        last = [max(a, b - 1) // c for a, b, c in zip(starts, stops, chunk, strict=True)]
        if first == last:  # inside one stored chunk
            base = [i * c for i, c in zip(first, chunk, strict=True)]
            return self._single(tuple(first), tuple(
                slice(a - b, z - b) for a, z, b in zip(starts, stops, base, strict=True)))
        out = np.empty([b - a for a, b in zip(starts, stops, strict=True)], self.dtype)
        parts = []
        for coords in product(*(range(f, t + 1) for f, t in zip(first, last, strict=True))):
            lo = [max(a, i * c) for a, i, c in zip(starts, coords, chunk, strict=True)]
            hi = [min(b, (i + 1) * c) for b, i, c in zip(stops, coords, chunk, strict=True)]
            src = tuple(slice(low - i * c, high - i * c) for low, high, i, c in
                        zip(lo, hi, coords, chunk, strict=True))
            dst = tuple(slice(low - a, high - a) for low, high, a in
                        zip(lo, hi, starts, strict=True))
            parts.append((coords, src, out[dst]))
        self._fill(parts)
        return out

    def _fill(self, parts: list[Part]) -> None:
        """Write each ``(coords, src, out)``: part ``src`` of stored chunk ``coords``."""
        for coords, src, out in parts:
            self._into(coords, src, out)


class MappedArray(ChunkReader):
    """An array-like over one raw zarr v3 array whose reads are views of mapped files."""

    splits_free = True

    def _file(self, key: str) -> mmap.mmap | None:
        """The chunk or shard file mapped read-only; it stays mapped while a view uses it
        (no cache: a mapping holds a file descriptor, and stores can have many files)."""
        try:
            with open(os.path.join(self.path, key), "rb") as f:
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (FileNotFoundError, ValueError):  # never written, or empty
            return None

    def chunk(self, coords: tuple[int, ...]) -> np.ndarray:
        """Stored chunk ``coords`` (in chunk units) as a read-only view of its mapped file."""
        layout = self.layout
        shape = self._extent(coords)
        if layout.shard_shape is None:
            mapped, offset = self._file(self.encode_key(coords)), 0
        else:
            per_shard = [s // c for s, c in zip(layout.shard_shape, layout.chunk_shape,
                                                strict=True)]
            shard = tuple(i // n for i, n in zip(coords, per_shard, strict=True))
            inner = tuple(i % n for i, n in zip(coords, per_shard, strict=True))
            mapped = self._file(self.encode_key(shard))
            offset = 0
            if mapped is not None:
                start = len(mapped) - layout.index_bytes if layout.index_at_end else 0
                count = math.prod(per_shard)
                index = np.frombuffer(mapped, "<u8", 2 * count, start).reshape(*per_shard, 2)
                offset = int(index[inner][0])
                if offset == _EMPTY:
                    mapped = None
        if mapped is None:
            return np.full(shape, self.fill_value, self.dtype)
        full = layout.chunk_shape
        view = np.frombuffer(mapped, self.dtype, math.prod(full), offset).reshape(full)
        return view[tuple(slice(0, n) for n in shape)]

    def _single(self, coords: tuple[int, ...], src: tuple[slice, ...]) -> np.ndarray:
        return self.chunk(coords)[src]  # a view, no copy

    def _into(self, coords: tuple[int, ...], src: tuple[slice, ...], out: np.ndarray) -> None:
        out[...] = self.chunk(coords)[src]


class _Scratch(threading.local):
    """A per-thread buffer a decoding read reuses for chunks it takes only part of."""

    def __init__(self) -> None:
        self.decoded = np.empty(0, np.uint8)


_SCRATCH = _Scratch()
_DECODED = BufferPool()
"""The memory of decoded chunks, shared by every reader in the process."""


class ChunkDecodeError(ValueError):
    """A stored chunk does not decode with its array's codec."""


class DecodedArray(ChunkReader):
    """An array-like over one local zarr v3 array of zstd- or blosc-compressed chunks.

    Each chunk file is memory-mapped and decoded from the page cache straight into the
    task's output where the chunk fills a contiguous part of it (a whole frame of a
    frame-chunked stack), else into a per-thread chunk buffer and copied once; zarr's read
    copies the file into fresh memory, decodes into more and copies the decoded chunk again.
    A task's output reuses the memory of outputs already let go (:class:`BufferPool`).

    A chunk file is mapped only while it is decoded. zarr writes a chunk to a new file and
    renames it over the old, so a store rewritten meanwhile leaves the mapping intact; a
    program that truncated the file in place would kill the read (SIGBUS).
    """

    def __init__(self, path: str, array: Any, layout: ChunkLayout) -> None:
        super().__init__(path, array, layout)
        from numcodecs import Blosc, Zstd

        self.codec = Zstd() if layout.compressor == "zstd" else Blosc()
        self.chunk_bytes = math.prod(layout.chunk_shape) * self.dtype.itemsize

    def _compressed(self, coords: tuple[int, ...]) -> mmap.mmap | memoryview | None:
        """The chunk file, mapped read-only (an empty file: no bytes, which the codec
        refuses); None if the chunk was never written."""
        try:
            with open(os.path.join(self.path, self.encode_key(coords)), "rb") as file:
                if os.fstat(file.fileno()).st_size == 0:
                    return memoryview(b"")
                return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except FileNotFoundError:
            return None

    def _decode(self, coords: tuple[int, ...], out: np.ndarray | None) -> np.ndarray | None:
        """Chunk ``coords`` decoded into ``out`` (a whole-chunk contiguous array) or, if None,
        into this thread's chunk buffer; None if the chunk was never written.

        Raises :class:`ChunkDecodeError`, naming the chunk's file, if it does not decode."""
        compressed = self._compressed(coords)
        if compressed is None:
            return None
        if out is None:
            if _SCRATCH.decoded.nbytes < self.chunk_bytes:
                _SCRATCH.decoded = np.empty(self.chunk_bytes, np.uint8)
            out = _SCRATCH.decoded[:self.chunk_bytes].view(self.dtype)
        with compressed:  # unmapped once decoded
            try:
                self.codec.decode(compressed, out=out.reshape(-1).view(np.uint8))
            except (RuntimeError, ValueError) as err:
                raise ChunkDecodeError(
                    f"{os.path.join(self.path, self.encode_key(coords))}: this "
                    f"{self.layout.compressor} chunk does not decode ({err}); the file is "
                    "damaged or was not written by zarr. Rewrite the store from its "
                    "source") from err
        return out.reshape(self.layout.chunk_shape)

    def _into(self, coords: tuple[int, ...], src: tuple[slice, ...], out: np.ndarray) -> None:
        whole = all(s.start == 0 and s.stop == c for s, c in
                    zip(src, self.layout.chunk_shape, strict=True))
        in_place = whole and out.flags.c_contiguous
        decoded = self._decode(coords, out if in_place else None)
        if decoded is None:
            out[...] = self.fill_value
        elif not in_place:
            out[...] = decoded[src]

    def _single(self, coords: tuple[int, ...], src: tuple[slice, ...]) -> np.ndarray:
        out = _DECODED.array([s.stop - s.start for s in src], self.dtype)
        self._into(coords, src, out)
        return out


def banded(chunks: tuple[tuple[int, ...], ...], itemsize: int,
           task_bytes: int) -> tuple[tuple[int, ...], ...]:
    """``chunks`` with every task larger than ``task_bytes`` split into near-equal bands along
    the rows of the image plane (the second-last axis; the only axis of a 1-D array).

    >>> banded(((64,), (256,), (2048,)), 4, 16 << 20)  # 128 MiB: 8 bands of 32 rows
    ((64,), (32, 32, 32, 32, 32, 32, 32, 32), (2048,))
    """
    axis = max(0, len(chunks) - 2)
    other = math.prod(max(c) for i, c in enumerate(chunks) if i != axis) * itemsize
    split: list[int] = []
    for size in chunks[axis]:
        bands = min(size, max(1, -(-size * other // task_bytes)))
        split += [size // bands + (i < size % bands) for i in range(bands)]
    return (*chunks[:axis], tuple(split), *chunks[axis + 1:])


ReaderFor = Callable[[str, Any, ChunkLayout], "ChunkReader | None"]
"""Makes the reader of one variable from its name, zarr array and layout (None: zarr's own)."""


def with_readers(ds: xr.Dataset, group: Any, reader_for: ReaderFor,
                 task_bytes: int) -> xr.Dataset:
    """``ds`` (opened from the zarr ``group``) with each dask-backed variable for which
    ``reader_for`` gives a reader read through it, in the same dask chunks (readers whose
    parts are free, :attr:`ChunkReader.splits_free`, in bands of ``task_bytes``, :func:`banded`).
    Variables xarray decodes (scale and offset, times) keep zarr's path.
    """
    import dask.array as da

    replaced = {}
    for name, variable in ds.data_vars.items():
        variable = variable.variable
        if not isinstance(variable.data, da.Array) or name not in group:
            continue
        array = group[str(name)]
        layout = chunk_layout(array.metadata)
        if layout is None or tuple(array.shape) != variable.shape:
            continue
        reader = reader_for(str(name), array, layout)
        if reader is None or reader.dtype != variable.dtype:
            continue
        chunks = variable.data.chunks
        if reader.splits_free:  # views: splitting copies nothing
            chunks = banded(chunks, reader.dtype.itemsize, task_bytes)
        kind = type(reader).__name__
        data = da.from_array(reader, chunks=chunks, asarray=False, lock=False,
                             name=f"{kind}-{task_bytes}-{variable.data.name}",
                             meta=np.empty((0,) * reader.ndim, reader.dtype))
        replaced[name] = variable.copy(data=data)
    return ds.assign(replaced) if replaced else ds


def read_in_place(ds: xr.Dataset, path: str, task_bytes: int, *,
                  group: Any = None) -> xr.Dataset:
    """``ds`` (opened from the local Zarr at ``path``) with its dask-backed variables read
    without zarr's copies: raw ones through :class:`MappedArray` (tasks over ``task_bytes``
    become bands of rows, :func:`banded`), zstd/blosc ones through :class:`DecodedArray` in
    the same dask chunks; others are left as they are. ``group``, the store's root zarr
    group if already open, saves reading its metadata again.
    """
    import zarr

    if not is_local(path):
        return ds
    root = path.removeprefix("file://")

    def local_reader(name: str, array: Any, layout: ChunkLayout) -> ChunkReader:
        kind = MappedArray if layout.compressor is None else DecodedArray
        return kind(os.path.join(root, name), array, layout)

    if group is None:
        group = zarr.open_group(root, mode="r")
    return with_readers(ds, group, local_reader, task_bytes)
