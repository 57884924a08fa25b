"""Index calibration windows per type, so selection does not scan a type's whole history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_products_type_valid_to", "products", ["type", "valid_to"])


def downgrade() -> None:
    op.drop_index("ix_products_type_valid_to", table_name="products")
