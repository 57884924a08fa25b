"""A product as users see it: metadata by attribute, links followed by input role.

``frame.chip`` reads a searchable attribute, ``frame.imstat.stdev`` a metadata record, and
``frame.flat`` follows the *used* edge of the process that made ``frame`` to the flat it
read. The view is a snapshot; ask the store again for fresh QC state.

Reading an attribute never queries the database: attributes and metadata come with the
view, and the inputs (``links``) either came prefetched with a query's results or are read
once, on the first link followed, and kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from wisehub.lineage.context import PRIVILEGE_NAMES

if TYPE_CHECKING:
    import xarray as xr

    from wisehub.storage import Storage


class ProductSource(Protocol):
    """What a view needs from the store that read it (the store satisfies this)."""

    storage: Storage | None

    def inputs(self, pid: str) -> dict[str, list[ProductView]]:
        """The products the process that made ``pid`` used, by role."""

    def lineage(self, pid: str) -> Any:
        """Upstream and downstream of ``pid``."""


class Record(dict):
    """A metadata mapping whose keys also read as attributes (``imstat.stdev``).

    >>> Record({"stdev": 2.5, "fit": {"a": 1}}).fit.a
    1
    """

    def __getattr__(self, name: str) -> Any:
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(f"no metadata {name!r}; present: {', '.join(self)}") from None
        return Record(value) if isinstance(value, dict) else value


@dataclass(eq=False)
class ProductView:
    """One product's metadata, read in a store context.

    Equality is by persistent id (``pid``).
    """

    pid: str
    type: str
    name: str
    owner: str
    group: str | None
    project: str | None
    privilege_level: int
    created_at: datetime
    data_uri: str | None
    checksum: str | None
    size: int | None
    data_deleted_at: datetime | None
    meta: dict[str, Any]
    attrs: dict[str, Any]
    quality_flags: int
    is_valid: int
    valid_from: float | None
    valid_to: float | None
    target_key: str | None
    code_version: str | None
    process_pid: str | None
    store: ProductSource | None = field(default=None, repr=False)
    links: dict[str, list[ProductView]] | None = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProductView) and other.pid == self.pid

    def __hash__(self) -> int:
        return hash(self.pid)

    def __repr__(self) -> str:
        return f"<{self.type} {self.name} pid={self.pid}>"

    @property
    def privilege(self) -> str:
        """The privilege name: private, group, project or world."""
        return PRIVILEGE_NAMES[self.privilege_level]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("store", "links"):
            raise AttributeError(name)
        attrs = self.__dict__.get("attrs", {})
        if name in attrs:
            return attrs[name]
        meta = self.__dict__.get("meta", {})
        if name in meta:
            value = meta[name]
            return Record(value) if isinstance(value, dict) else value
        known = self.__dict__.get("links") is not None
        linked = None
        if known or (self.__dict__.get("store") is not None and self.__dict__.get("process_pid")):
            linked = self.inputs().get(name)
        if linked is not None:
            return linked[0] if len(linked) == 1 else linked
        raise AttributeError(
            f"{self.type} {self.name} has no attribute, metadata or input {name!r}; it has "
            f"{', '.join([*attrs, *meta, *(self.links or {})]) or 'none'}"
        )

    @property
    def has_data(self) -> bool:
        """Whether the data is still in storage (metadata outlives deleted data)."""
        return self.data_uri is not None and self.data_deleted_at is None

    def open(self) -> xr.Dataset:
        """The product's data as a lazy, dask-backed xarray Dataset."""
        import wisehub.conventions  # noqa: F401  (the .wise accessor)
        from wisehub.storage.zarrio import open_zarr

        if not self.has_data:
            raise FileNotFoundError(f"{self!r} has no data in storage (deleted or never stored); "
                                    "its metadata and lineage remain")
        options = self.store.storage.storage_options if self.store and self.store.storage else {}
        return open_zarr(str(self.data_uri), options).wise.with_pid(self.pid)

    def inputs(self) -> dict[str, list[ProductView]]:
        """What the process that made this product used, by input role (read once, kept)."""
        if self.links is None:
            self.links = self._need_store().inputs(self.pid) if self.process_pid else {}
        return self.links

    def lineage(self) -> Any:
        """Upstream (down to raw data) and downstream of this product: a ``Lineage``."""
        return self._need_store().lineage(self.pid)

    def _need_store(self) -> ProductSource:
        if self.store is None:
            raise RuntimeError(f"{self!r} is detached from a store")
        return self.store
