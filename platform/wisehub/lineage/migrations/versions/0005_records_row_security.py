"""Publishing records under row security: read as their products are, written by their owners.

Every platform user's role (``wisehub_users``) gets the records table with the product rules
(migration 0003):

- a record is read by its owner, by members of its group (group privilege and up), of its
  project (project privilege and up), and by everyone (world);
- a user inserts and updates only records they own, in groups and projects they belong
  to; a product's record only for a product they own, under the product's id and at the
  product's privilege, so no one records (and so publishes) another user's product or
  spoofs its owner;
- only the owner deletes a record.

Before this, user roles had no grant on the table at all; the publish service and
operators use the role owning the tables, which row security does not restrict.
On SQLite (single-user trust) the migration does nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from importlib import import_module

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The product rules of migration 0003, word for word: records are read as products are.
_PRODUCTS = import_module("wisehub.lineage.migrations.versions.0003_row_security")
USERS_ROLE, MY_GROUPS, MY_PROJECTS, READ = (
    _PRODUCTS.USERS_ROLE, _PRODUCTS.MY_GROUPS, _PRODUCTS.MY_PROJECTS, _PRODUCTS.READ)
OWN_RECORD = (f"owner = current_user"
              f" AND (group_name IS NULL OR group_name IN {MY_GROUPS})"
              f" AND (project IS NULL OR project IN {MY_PROJECTS})"
              " AND (kind <> 'product' OR EXISTS (SELECT 1 FROM products p"
              " WHERE p.pid = records.source AND p.pid = records.pid"
              " AND p.owner = current_user AND p.privilege = records.privilege))")
POLICIES = [
    ("read", "SELECT", READ, None),
    ("insert_own", "INSERT", None, OWN_RECORD),
    ("update_own", "UPDATE", "owner = current_user", OWN_RECORD),
    ("delete_own", "DELETE", "owner = current_user", None),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE records ENABLE ROW LEVEL SECURITY")
    for name, command, using, check in POLICIES:
        clause = f" USING ({using})" if using else ""
        clause += f" WITH CHECK ({check})" if check else ""
        op.execute(f"CREATE POLICY {name} ON records FOR {command} TO {USERS_ROLE}{clause}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON records TO {USERS_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {USERS_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"REVOKE ALL ON records FROM {USERS_ROLE}")
    op.execute(f"DO $$ BEGIN EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM {USERS_ROLE}', "
               "pg_get_serial_sequence('records', 'seq')); END $$")
    for name, *_ in POLICIES:
        op.execute(f"DROP POLICY {name} ON records")
    op.execute("ALTER TABLE records DISABLE ROW LEVEL SECURITY")
