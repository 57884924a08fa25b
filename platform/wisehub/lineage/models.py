"""The lineage store's tables (SQLAlchemy 2): products, processes, used edges, attributes, claims.

Products are PROV entities, processes PROV activities. A product points at the process that
generated it; ``used`` rows say which products a process read, under which input role.
Searchable attributes (night, chip, filter, …) live in ``product_attrs`` with indexes, so
attribute queries stay fast with 10⁶ products. The columns ``owner``, ``group_name``,
``project`` and ``privilege`` are all that read scoping needs; on PostgreSQL, row-level
security (migration 0003) enforces the same rule per database role, with group and project
membership in ``lineage_members``, which only the hub's role writes.

>>> sorted(Base.metadata.tables)
['build_claims', 'lineage_members', 'processes', 'product_attrs', 'products', 'used']
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the lineage tables."""


class Process(Base):
    """A run of a recipe (PROV activity): what ran, with which parameters and code, where."""

    __tablename__ = "processes"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pid: Mapped[str] = mapped_column(String(36), unique=True)
    recipe: Mapped[str] = mapped_column(String(200))
    target_keys: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    code_version: Mapped[str] = mapped_column(String(64))
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    user: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    used: Mapped[list[Used]] = relationship(back_populates="process", lazy="raise")


class Product(Base):
    """A data product (PROV entity) with its QC state, validity window and privileges."""

    __tablename__ = "products"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pid: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(100))
    group_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    project: Mapped[str | None] = mapped_column(String(100), nullable=True)
    privilege: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(80), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    data_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quality_flags: Mapped[int] = mapped_column(Integer, default=0)
    is_valid: Mapped[int] = mapped_column(SmallInteger, default=1)
    inspected_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    valid_from: Mapped[float | None] = mapped_column(Float, nullable=True)
    valid_to: Mapped[float | None] = mapped_column(Float, nullable=True)
    target_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    process_seq: Mapped[int | None] = mapped_column(
        ForeignKey("processes.seq", ondelete="RESTRICT"), nullable=True
    )

    process: Mapped[Process | None] = relationship(lazy="raise")
    attrs: Mapped[list[Attribute]] = relationship(lazy="raise")

    __table_args__ = (
        Index("ix_products_target_key", "target_key", "seq"),
        Index("ix_products_type_seq", "type", "seq"),
        Index("ix_products_type_valid_to", "type", "valid_to"),
        Index("ix_products_owner", "owner"),
        Index("ix_products_process", "process_seq"),
        Index("ix_products_invalid", "seq", postgresql_where=text("is_valid = 0"),
              sqlite_where=text("is_valid = 0")),  # tainted() starts from these
        Index("ix_products_data_uri", "data_uri"),  # data shared by several products
    )


class Attribute(Base):
    """One searchable attribute of a product: a string or a number under a key."""

    __tablename__ = "product_attrs"

    product_seq: Mapped[int] = mapped_column(
        ForeignKey("products.seq", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_str: Mapped[str | None] = mapped_column(String(255), nullable=True)
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        Index("ix_attrs_str", "key", "value_str", "product_seq"),
        Index("ix_attrs_num", "key", "value_num", "product_seq"),
    )


class Used(Base):
    """A *used* edge: a process read a product under an input role."""

    __tablename__ = "used"

    process_seq: Mapped[int] = mapped_column(
        ForeignKey("processes.seq", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_seq: Mapped[int] = mapped_column(
        ForeignKey("products.seq", ondelete="RESTRICT"), primary_key=True
    )

    process: Mapped[Process] = relationship(back_populates="used", lazy="raise")

    __table_args__ = (Index("ix_used_product", "product_seq"),)


class Claim(Base):
    """A lease on building one target in one write scope, so concurrent callers make it once.

    ``scope`` is where the build's product goes (``user:ada``, ``group:lab``, ``project:p``,
    ``world``): callers who would write different products never wait for each other, and
    on PostgreSQL a user may only claim in a scope they write to.
    """

    __tablename__ = "build_claims"

    target_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(110), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[float] = mapped_column(Float)


class Member(Base):
    """``username`` belongs to the group or project ``name`` (kind ``group``/``project``).

    Written by the hub only (:func:`wisehub.lineage.roles.provision_user`); PostgreSQL
    row-level security reads it to decide what each user's role may read and write.
    """

    __tablename__ = "lineage_members"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
