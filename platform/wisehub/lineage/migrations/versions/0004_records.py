"""Publishing records: persistent ids with DataCite metadata that outlive the data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from wisehub.lineage.models import BigId, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("pid", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(600), nullable=False),
        sa.Column("collection", sa.String(200), nullable=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("group_name", sa.String(100), nullable=True),
        sa.Column("project", sa.String(100), nullable=True),
        sa.Column("privilege", sa.SmallInteger, nullable=False),
        sa.Column("datacite", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("kind", "source", name="uq_records_source"),
    )
    op.create_index("ix_records_updated", "records", ["updated_at", "seq"])
    op.create_index("ix_records_privilege_updated", "records",
                    ["privilege", "updated_at", "seq"])
    op.create_index("ix_records_collection", "records", ["collection", "updated_at", "seq"])


def downgrade() -> None:
    op.drop_table("records")
