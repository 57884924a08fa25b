"""A zarr store that writes chunks at their final keys and holds the metadata back.

Object storage has no rename, so a product cannot be written elsewhere and moved into place
without copying every chunk. Instead, chunks go straight to the product's key, while the Zarr
metadata (``zarr.json``, or ``.zarray``/``.zattrs``/``.zgroup``/``.zmetadata`` for format 2)
is held in memory by the writer. Without its metadata the prefix is not a Zarr that anything
can open; :meth:`wisehub.storage.store.Storage.staged` consolidates the held metadata and
writes the few small objects in at the end, the root's last: that write is the commit.

The metadata is all written by the writer's own process, before any chunk (xarray creates the
arrays, then computes their chunks). A Dask worker gets a pickled copy of the wrapper and
writes only chunks through it, so the copy's metadata is read, never changed; consolidation,
which xarray would run in a task of a delayed write, runs at the commit, on the writer's store.

>>> import numpy as np, xarray as xr, zarr
>>> chunks, held = {}, {}
>>> store = MetadataAside(zarr.storage.MemoryStore(chunks), zarr.storage.MemoryStore(held))
>>> _ = xr.Dataset({"a": ("x", np.arange(4))}).to_zarr(store, mode="w-", zarr_format=3)
>>> sorted(chunks), sorted(held)
(['a/c/0'], ['a/zarr.json', 'zarr.json'])
>>> int(xr.open_zarr(store).a.sum())
6
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable, MutableMapping
from typing import Any

from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

from wisehub.storage.zarrkeys import is_metadata
from wisehub.storage.zarrwarnings import quiet_zarr_v3_warnings


class MetadataAside(WrapperStore[Store]):
    """Chunks to ``store`` (the product's final key), metadata to ``metadata`` (held back)."""

    def __init__(self, store: Store, metadata: Store) -> None:
        super().__init__(store)
        self.metadata = metadata

    def _with_store(self, store: Store) -> MetadataAside:
        return type(self)(store, self.metadata)

    def with_read_only(self, read_only: bool = False) -> MetadataAside:
        return type(self)(self._store.with_read_only(read_only),
                          self.metadata.with_read_only(read_only))

    def _for(self, key: str) -> Store:
        return self.metadata if is_metadata(key) else self._store

    async def _open(self) -> None:
        await self._store._open()
        await self.metadata._open()

    async def is_empty(self, prefix: str) -> bool:
        return await self._store.is_empty(prefix) and await self.metadata.is_empty(prefix)

    def __eq__(self, value: object) -> bool:
        return (isinstance(value, MetadataAside) and self._store == value._store
                and self.metadata == value.metadata)

    def __repr__(self) -> str:
        return f"MetadataAside({self._store!r}, metadata={self.metadata!r})"

    async def get(self, key: str, prototype: BufferPrototype,
                  byte_range: ByteRequest | None = None) -> Buffer | None:
        return await self._for(key).get(key, prototype, byte_range)

    async def get_partial_values(
            self, prototype: BufferPrototype,
            key_ranges: Iterable[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        return [await self.get(key, prototype, byte_range) for key, byte_range in key_ranges]

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)

    async def exists(self, key: str) -> bool:
        return await self._for(key).exists(key)

    async def set(self, key: str, value: Buffer) -> None:
        await self._for(key).set(key, value)

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        await self._for(key).set_if_not_exists(key, value)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        for key, value in values:
            await self.set(key, value)

    async def delete(self, key: str) -> None:
        await self._for(key).delete(key)

    async def delete_dir(self, prefix: str) -> None:
        await self._store.delete_dir(prefix)
        await self.metadata.delete_dir(prefix)

    async def clear(self) -> None:
        await self._store.clear()
        await self.metadata.clear()

    async def list(self) -> AsyncIterator[str]:
        async for key in _merged(self._store.list(), self.metadata.list()):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        async for key in _merged(self._store.list_prefix(prefix),
                                 self.metadata.list_prefix(prefix)):
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        async for key in _merged(self._store.list_dir(prefix), self.metadata.list_dir(prefix)):
            yield key

    def close(self) -> None:
        self._store.close()
        self.metadata.close()


async def _merged(*listings: AsyncIterator[str]) -> AsyncIterator[str]:
    seen: set[str] = set()
    for listing in listings:
        async for key in listing:
            if key not in seen:
                seen.add(key)
                yield key


def open_aside(url: str, held: MutableMapping[str, Buffer],
               storage_options: dict[str, Any]) -> MetadataAside:
    """The :class:`MetadataAside` store for a product at ``url``, its metadata held in the
    writer's ``held`` (a dict, the contents of a :class:`zarr.storage.MemoryStore`)."""
    from zarr.storage import FsspecStore, MemoryStore

    options = storage_options or None
    return MetadataAside(FsspecStore.from_url(url, storage_options=options),
                         MemoryStore(store_dict=held))


def held_objects(held: MutableMapping[str, Buffer], *, consolidate: bool) -> dict[str, bytes]:
    """The held metadata objects by name, first consolidated into the root's metadata if
    ``consolidate``; empty if nothing was held.

    >>> import zarr
    >>> held = {}
    >>> group = zarr.open_group(zarr.storage.MemoryStore(store_dict=held), mode="w")
    >>> _ = group.create_array("a", shape=(2,), dtype="f4")
    >>> objects = held_objects(held, consolidate=True)
    >>> sorted(objects), b"consolidated_metadata" in objects["zarr.json"]
    (['a/zarr.json', 'zarr.json'], True)
    """
    if consolidate:
        import zarr
        from zarr.storage import MemoryStore

        with quiet_zarr_v3_warnings():
            zarr.consolidate_metadata(MemoryStore(store_dict=held))
    return {name: value.to_bytes() for name, value in held.items()}
