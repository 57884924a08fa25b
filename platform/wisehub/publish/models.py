"""The ``records`` table: one published record per dataset or promoted product.

Records live in the lineage database next to the products they describe, so one backup and
one transaction cover both, and a record's identifier outlives the data (FAIR A2). They are a
table of their own rather than columns of ``products`` because published catalogue datasets
are not lineage products, and because harvesters page through records by change time
(``updated_at``), an order products have no index for.

>>> sorted(c.name for c in PublishedRecord.__table__.columns)[:4]
['collection', 'created_at', 'datacite', 'deleted_at']
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from wisehub.lineage.models import BigId, UTCDateTime


class RecordBase(DeclarativeBase):
    """Declarative base of the publishing tables (migrated with the lineage schema)."""


class PublishedRecord(RecordBase):
    """A record: persistent id, what it describes, who may read it, DataCite metadata.

    ``kind`` is ``product`` (``source`` is the product's pid) or ``dataset`` (``source`` is
    ``<catalogue>#<entry>``). ``deleted_at`` is set when the data goes; the metadata stays.
    """

    __tablename__ = "records"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(600))
    collection: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner: Mapped[str] = mapped_column(String(100))
    group_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    project: Mapped[str | None] = mapped_column(String(100), nullable=True)
    privilege: Mapped[int] = mapped_column(SmallInteger)
    datacite: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        UniqueConstraint("kind", "source", name="uq_records_source"),
        Index("ix_records_updated", "updated_at", "seq"),
        Index("ix_records_privilege_updated", "privilege", "updated_at", "seq"),
        Index("ix_records_collection", "collection", "updated_at", "seq"),
    )
