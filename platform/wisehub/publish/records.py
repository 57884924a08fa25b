"""Records of published datasets and promoted products, kept in the lineage database.

A product's record has the product's own persistent id, so the ``IsDerivedFrom`` links of
one record name the records of its lineage inputs. A dataset's record gets a new UUID. Every
read is scoped like the lineage store's (owner, group, project, world); deleting the data
marks the record deleted and keeps its metadata (FAIR A2).

>>> from wisehub.lineage import Context, LineageStore
>>> store = LineageStore("sqlite://", Context("ada", projects=("cosmos",), project="cosmos"))
>>> bias = store.register("MasterBias", name="bias-1", meta={"licence": "CC0-1.0"})
>>> rec = promote(store, bias.pid, "world", collection="whcam")
>>> rec.pid == bias.pid, rec.datacite["types"]["resourceType"], rec.collection
(True, 'MasterBias', 'whcam')
>>> delete_data(store, bias.pid).deleted
True
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from wisehub.lineage.context import PRIVILEGE_NAMES, PRIVILEGES, Context, privilege_level
from wisehub.lineage.models import utcnow
from wisehub.lineage.store import LineageStore
from wisehub.publish import datacite
from wisehub.publish.models import PublishedRecord

PUBLISHER = "wisehub"
PAGE_SIZE = 100  # records in one page of a listing (an OAI-PMH list, before its token)
DEFAULT_LICENCE = "CC-BY-4.0"


class RecordError(ValueError):
    """A record cannot be made as asked; the message says why."""


class UnknownRecordError(LookupError):
    """No readable record has this id (it may not exist, or not be readable by you)."""


@dataclass(frozen=True)
class RecordView:
    """One record as read: its id, what it describes, access, DataCite metadata, dates."""

    seq: int
    pid: str
    kind: str
    source: str
    collection: str | None
    owner: str
    privilege_level: int
    datacite: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @property
    def deleted(self) -> bool:
        """Whether the data is gone (the metadata stays)."""
        return self.deleted_at is not None

    @property
    def privilege(self) -> str:
        """Who may read it: private, group, project or world."""
        return PRIVILEGE_NAMES[self.privilege_level]

    @property
    def title(self) -> str:
        """The first DataCite title."""
        return str(self.datacite["titles"][0]["title"])

    @classmethod
    def of(cls, row: PublishedRecord) -> RecordView:
        """The view of a table row."""
        return cls(row.seq, row.pid, row.kind, row.source, row.collection, row.owner,
                   row.privilege, row.datacite, row.created_at, row.updated_at, row.deleted_at)


def readable(context: Context | None) -> ColumnElement[bool]:
    """The SQL condition selecting records ``context`` may read (None: anonymous, world only).

    The same rule as for products: owner, group, project, world.
    """
    if context is None:
        return PublishedRecord.privilege >= PRIVILEGES["world"]
    return context.readable(PublishedRecord)


def collection_urn(collection: str) -> str:
    """The identifier a collection has in ``IsPartOf`` links."""
    return f"urn:wisehub:collection:{collection}"


class Records:
    """The records table of one lineage database, read as ``context`` (None: anonymous)."""

    def __init__(self, engine: Engine, context: Context | None, *,
                 publisher: str = PUBLISHER, doi_prefix: str | None = None) -> None:
        self.engine = engine
        self.context = context
        self.publisher = publisher
        self.doi_prefix = doi_prefix

    @classmethod
    def of(cls, store: LineageStore, **kwargs: Any) -> Records:
        """The records of ``store``'s database, read as the store's context."""
        return cls(store.engine, store.context, **kwargs)

    # ------------------------------------------------------------------ reads
    def get(self, pid: str) -> RecordView:
        """The readable record ``pid``."""
        with Session(self.engine) as session:
            row = session.scalar(select(PublishedRecord).where(
                PublishedRecord.pid == str(pid), readable(self.context)))
            if row is None:
                raise UnknownRecordError(f"no readable record {pid}")
            return RecordView.of(row)

    def page(self, *, since: datetime | None = None, until: datetime | None = None,
             collection: str | None = None, after: tuple[datetime, int] | None = None,
             limit: int = PAGE_SIZE) -> list[RecordView]:
        """Readable records by change time, then seq; ``after`` continues a previous page."""
        stmt = select(PublishedRecord).where(readable(self.context))
        if since is not None:
            stmt = stmt.where(PublishedRecord.updated_at >= since)
        if until is not None:
            stmt = stmt.where(PublishedRecord.updated_at <= until)
        if collection is not None:
            stmt = stmt.where(PublishedRecord.collection == collection)
        if after is not None:
            when, seq = after
            stmt = stmt.where(or_(PublishedRecord.updated_at > when,
                                  and_(PublishedRecord.updated_at == when,
                                       PublishedRecord.seq > seq)))
        stmt = stmt.order_by(PublishedRecord.updated_at, PublishedRecord.seq).limit(limit)
        with Session(self.engine) as session:
            return [RecordView.of(row) for row in session.scalars(stmt)]

    def collections(self) -> list[str]:
        """The collections of readable records (OAI-PMH sets)."""
        with Session(self.engine) as session:
            return sorted(session.scalars(
                select(PublishedRecord.collection).where(
                    readable(self.context), PublishedRecord.collection.is_not(None))
                .distinct()))

    def earliest(self) -> datetime | None:
        """The oldest change time of any readable record."""
        with Session(self.engine) as session:
            return session.scalar(select(func.min(PublishedRecord.updated_at))
                                  .where(readable(self.context)))

    # ----------------------------------------------------------------- writes
    def _save(self, *, kind: str, source: str, pid: str, collection: str | None, owner: str,
              group: str | None, project: str | None, privilege: int,
              build: Any) -> RecordView:
        """Insert or refresh the record of ``(kind, source)``; ``build(pid)`` makes DataCite."""
        now = utcnow()
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(PublishedRecord).where(
                PublishedRecord.kind == kind, PublishedRecord.source == source))
            if row is None:
                row = PublishedRecord(pid=pid, kind=kind, source=source, created_at=now)
                session.add(row)
            row.collection = collection or row.collection
            row.owner, row.group_name, row.project = owner, group, project
            row.privilege = privilege
            row.datacite = datacite.validate(build(row.pid, row.collection))
            row.updated_at = now
            session.flush()
            return RecordView.of(row)

    def record_product(self, store: LineageStore, pid: str, *,
                       collection: str | None = None, licence: str | None = None
                       ) -> RecordView:
        """Make (or refresh) the record of a product promoted to project or world."""
        product = store.product(pid)
        if product.privilege_level < PRIVILEGES["project"]:
            raise RecordError(f"product {pid} is {product.privilege}; only products promoted "
                              "to project or world get a record")
        inputs = [p.pid for views in store.inputs(pid).values() for p in views]
        meta = product.meta
        instrument = product.attrs.get("instrument") or meta.get("instrument")

        def build(record_pid: str, part_of: str | None) -> dict[str, Any]:
            return datacite.metadata(
                pid=record_pid, title=str(meta.get("title") or f"{product.type} {product.name}"),
                creators=[product.owner], publisher=self.publisher,
                year=product.created_at.year, resource_type=product.type,
                licence=licence or meta.get("licence") or DEFAULT_LICENCE,
                subjects=["astronomy", product.type], description=meta.get("description"),
                instrument=instrument, derived_from=inputs,
                part_of=collection_urn(part_of) if part_of else None,
                dates={"Created": product.created_at, "Issued": utcnow()},
                size=product.size, doi_prefix=self.doi_prefix)

        record = self._save(kind="product", source=product.pid, pid=product.pid,
                            collection=collection, owner=product.owner, group=product.group,
                            project=product.project, privilege=product.privilege_level,
                            build=build)
        if not product.has_data and product.data_deleted_at is not None:
            return self.mark_deleted(record.pid)
        return record

    def record_dataset(self, catalog: str, entry: str, meta: Mapping[str, Any], *,
                       collection: str | None = None) -> RecordView:
        """Make (or refresh) the record of a published catalogue entry from its metadata."""
        privilege = privilege_level(meta.get("privilege", "world"))
        owner = str(meta.get("owner") or meta.get("creator") or PUBLISHER)
        published = meta.get("published")
        year = int(str(published)[:4]) if published else utcnow().year
        dates = {k: v for k, v in (("Issued", published),
                                   ("Collected", _range(meta))) if v}

        def build(record_pid: str, part_of: str | None) -> dict[str, Any]:
            return datacite.metadata(
                pid=record_pid, title=str(meta.get("title") or entry),
                creators=[str(meta.get("creator") or owner)], publisher=self.publisher,
                year=year, resource_type=str(meta.get("kind") or "dataset"),
                licence=meta.get("licence"), subjects=["astronomy", *_subjects(meta)],
                description=meta.get("description"), instrument=meta.get("instrument"),
                part_of=collection_urn(part_of) if part_of else None, dates=dates,
                size=meta.get("size"), doi_prefix=self.doi_prefix)

        return self._save(kind="dataset", source=f"{catalog}#{entry}", pid=str(uuid.uuid4()),
                          collection=collection or catalog, owner=owner,
                          group=meta.get("group"), project=meta.get("project"),
                          privilege=privilege, build=build)

    def dataset_record(self, catalog: str, entry: str, meta: Mapping[str, Any]) -> RecordView:
        """The record of a catalogue entry, made on first use (and then kept as it is)."""
        with Session(self.engine) as session:
            row = session.scalar(select(PublishedRecord).where(
                PublishedRecord.kind == "dataset",
                PublishedRecord.source == f"{catalog}#{entry}"))
            if row is not None:
                return RecordView.of(row)
        return self.record_dataset(catalog, entry, meta)

    def record_catalog(self, path: str | Path, *, collection: str | None = None
                       ) -> list[RecordView]:
        """Record every entry of an Intake 2 catalogue file (its stem names the collection)."""
        path = Path(path)
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise RecordError(f"cannot read catalogue {path}: {err}") from None
        defaults = {k: v for k, v in (document.get("metadata") or {}).items()
                    if k in ("creator", "licence")}
        return [self.record_dataset(path.stem, name, {**defaults, **(entry.get("metadata") or {})},
                                    collection=collection or path.stem)
                for name, entry in (document.get("entries") or {}).items()]

    def mark_deleted(self, pid: str) -> RecordView:
        """Mark a record's data deleted (its metadata stays and is still served)."""
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(PublishedRecord).where(PublishedRecord.pid == str(pid)))
            if row is None:
                raise UnknownRecordError(f"no record {pid}")
            if row.deleted_at is None:
                row.deleted_at = row.updated_at = utcnow()
            session.flush()
            return RecordView.of(row)


def _range(meta: Mapping[str, Any]) -> str | None:
    start, end = meta.get("time_start"), meta.get("time_end")
    return f"{start}/{end}" if start and end else None


def _subjects(meta: Mapping[str, Any]) -> Sequence[str]:
    return [str(meta[k]) for k in ("kind", "instrument") if meta.get(k)]


def promote(store: LineageStore, pid: str, privilege: str | int, *,
            collection: str | None = None) -> RecordView | None:
    """Promote a product (as :meth:`LineageStore.promote`); at project or world, record it."""
    product = store.promote(pid, privilege)
    if product.privilege_level < PRIVILEGES["project"]:
        return None
    return Records.of(store).record_product(store, pid, collection=collection)


def delete_data(store: LineageStore, pid: str) -> RecordView | None:
    """Delete a product's data (as :meth:`LineageStore.delete_data`) and mark its record."""
    store.delete_data(pid)
    records = Records.of(store)
    try:
        records.get(pid)
    except UnknownRecordError:
        return None
    return records.mark_deleted(pid)
