"""The initial lineage schema: products, processes, used edges, attributes and build claims.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from wisehub.lineage.models import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("pid", sa.String(36), nullable=False, unique=True),
        sa.Column("recipe", sa.String(200), nullable=False),
        sa.Column("target_keys", sa.JSON, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("code_version", sa.String(64), nullable=False),
        sa.Column("environment", sa.JSON, nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "products",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("pid", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("group_name", sa.String(100), nullable=True),
        sa.Column("project", sa.String(100), nullable=True),
        sa.Column("privilege", sa.SmallInteger, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("data_uri", sa.Text, nullable=True),
        sa.Column("checksum", sa.String(80), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("data_deleted_at", UTCDateTime(), nullable=True),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("quality_flags", sa.Integer, nullable=False),
        sa.Column("is_valid", sa.SmallInteger, nullable=False),
        sa.Column("inspected_by", sa.String(100), nullable=True),
        sa.Column("valid_from", sa.Float, nullable=True),
        sa.Column("valid_to", sa.Float, nullable=True),
        sa.Column("target_key", sa.String(64), nullable=True),
        sa.Column("code_version", sa.String(64), nullable=True),
        sa.Column("process_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("processes.seq", ondelete="RESTRICT"), nullable=True),
    )
    op.create_index("ix_products_target_key", "products", ["target_key", "seq"])
    op.create_index("ix_products_type_seq", "products", ["type", "seq"])
    op.create_index("ix_products_owner", "products", ["owner"])
    op.create_index("ix_products_process", "products", ["process_seq"])
    op.create_table(
        "product_attrs",
        sa.Column("product_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("products.seq", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value_str", sa.String(255), nullable=True),
        sa.Column("value_num", sa.Float, nullable=True),
    )
    op.create_index("ix_attrs_str", "product_attrs", ["key", "value_str", "product_seq"])
    op.create_index("ix_attrs_num", "product_attrs", ["key", "value_num", "product_seq"])
    op.create_table(
        "used",
        sa.Column("process_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("processes.seq", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("product_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("products.seq", ondelete="RESTRICT"), primary_key=True),
    )
    op.create_index("ix_used_product", "used", ["product_seq"])
    op.create_table(
        "build_claims",
        sa.Column("target_key", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("build_claims", "used", "product_attrs", "products", "processes"):
        op.drop_table(table)
