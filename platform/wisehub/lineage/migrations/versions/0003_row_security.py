"""Privileges enforced by PostgreSQL: row-level security per user role, hub-written membership.

Every platform user connects with their own database role, a member of ``wisehub_users``.
Policies give each role what the library's :class:`~wisehub.lineage.context.Context` gives
the user, so a user who speaks SQL directly gets no more:

- a product is read by its owner, by members of its group (group privilege and up), of its
  project (project privilege and up), and by everyone (world); processes, attributes and
  *used* edges are read only alongside a readable product;
- a user inserts only products, processes and attributes they own, in groups and projects
  they belong to, and edges of their own processes to products they may read;
- only the owner updates or deletes a product, except that group and project members may
  set its QC verdict (``is_valid``, ``inspected_by``); a trigger keeps ids and owners fixed
  and lets privileges only widen, within the owner's groups;
- build claims are visible and writable only in the write scopes a user has;
- membership (``lineage_members``) is written only by the role that owns the tables (the
  hub's), which row security does not restrict.

On SQLite (single-user trust) the migration only adds the tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

USERS_ROLE = "wisehub_users"
TABLES = ("products", "processes", "product_attrs", "used", "build_claims")
MY_GROUPS = ("(SELECT m.name FROM lineage_members m "
             "WHERE m.username = current_user AND m.kind = 'group')")
MY_PROJECTS = ("(SELECT m.name FROM lineage_members m "
               "WHERE m.username = current_user AND m.kind = 'project')")
READ = (f"(owner = current_user OR privilege >= 4"
        f" OR (privilege >= 2 AND group_name IN {MY_GROUPS})"
        f" OR (privilege >= 3 AND project IN {MY_PROJECTS}))")
SHARED = (f"((privilege = 2 AND group_name IN {MY_GROUPS})"
          f" OR (privilege = 3 AND project IN {MY_PROJECTS}))")
IN_MY_SCOPE = (f"((group_name IS NULL OR group_name IN {MY_GROUPS})"
               f" AND (project IS NULL OR project IN {MY_PROJECTS}))")
READABLE_PRODUCT = "EXISTS (SELECT 1 FROM products p WHERE p.seq = {col})"
OWN_PRODUCT = "EXISTS (SELECT 1 FROM products p WHERE p.seq = {col} AND p.owner = current_user)"
CLAIM_SCOPE = (f"(scope = 'user:' || current_user OR scope = 'world'"
               f" OR (scope LIKE 'group:%' AND substr(scope, 7) IN {MY_GROUPS})"
               f" OR (scope LIKE 'project:%' AND substr(scope, 9) IN {MY_PROJECTS}))")

POLICIES = {
    "lineage_members": [("read_own", "SELECT", "username = current_user", None)],
    "products": [
        ("read", "SELECT", READ, None),
        ("insert_own", "INSERT", None,
         f"owner = current_user AND {IN_MY_SCOPE} AND (process_seq IS NULL"
         " OR lineage_process_user(process_seq) = current_user)"),
        ("update_own_or_inspect_shared", "UPDATE", f"(owner = current_user OR {SHARED})",
         f"((owner = current_user AND {IN_MY_SCOPE}) OR {SHARED})"),
        ("delete_own", "DELETE", "owner = current_user", None),
    ],
    "processes": [
        ("read", "SELECT",
         '"user" = current_user OR EXISTS (SELECT 1 FROM products p '
         "WHERE p.process_seq = processes.seq)", None),
        ("insert_own", "INSERT", None, '"user" = current_user'),
        ("update_own", "UPDATE", '"user" = current_user', '"user" = current_user'),
        ("delete_own", "DELETE", '"user" = current_user', None),
    ],
    "product_attrs": [
        ("read", "SELECT", READABLE_PRODUCT.format(col="product_attrs.product_seq"), None),
        ("insert_own", "INSERT", None, OWN_PRODUCT.format(col="product_attrs.product_seq")),
        ("update_own", "UPDATE", OWN_PRODUCT.format(col="product_attrs.product_seq"),
         OWN_PRODUCT.format(col="product_attrs.product_seq")),
        ("delete_own", "DELETE", OWN_PRODUCT.format(col="product_attrs.product_seq"), None),
    ],
    "used": [
        ("read", "SELECT",
         READABLE_PRODUCT.format(col="used.product_seq")
         + " AND EXISTS (SELECT 1 FROM processes pr WHERE pr.seq = used.process_seq)", None),
        ("insert_own", "INSERT", None,
         "lineage_process_user(used.process_seq) = current_user AND "
         + READABLE_PRODUCT.format(col="used.product_seq")),
        ("delete_own", "DELETE", "lineage_process_user(used.process_seq) = current_user", None),
    ],
    "build_claims": [
        ("in_my_scopes", "ALL", CLAIM_SCOPE, f"{CLAIM_SCOPE} AND owner = current_user"),
    ],
}

# A SECURITY DEFINER lookup breaks the products -> processes -> products policy recursion;
# it tells only who ran a process, which every readable product's lineage shows anyway.
PROCESS_USER = """
CREATE FUNCTION lineage_process_user(process bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT "user" FROM processes WHERE seq = process $$
"""

# delete_data must know whether products it cannot see share the data it would delete.
DATA_URI_COUNT = """
CREATE FUNCTION lineage_data_uri_count(uri text, excluded bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$ SELECT count(*) FROM products
      WHERE data_uri = uri AND data_deleted_at IS NULL AND seq <> excluded $$
"""

GUARD = f"""
CREATE FUNCTION lineage_guard_product() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    probe products%ROWTYPE;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_auth_members m
                   JOIN pg_roles g ON g.oid = m.roleid AND g.rolname = '{USERS_ROLE}'
                   JOIN pg_roles u ON u.oid = m.member AND u.rolname = current_user) THEN
        RETURN NEW;  -- the hub's own role: trusted
    END IF;
    IF NEW.seq <> OLD.seq OR NEW.pid <> OLD.pid OR NEW.owner <> OLD.owner THEN
        RAISE EXCEPTION 'a product''s id and owner never change' USING ERRCODE = '42501';
    END IF;
    IF NEW.privilege < OLD.privilege THEN
        RAISE EXCEPTION 'product %: promotion only widens access', OLD.pid
            USING ERRCODE = '42501';
    END IF;
    IF (OLD.privilege >= 2 AND NEW.group_name IS DISTINCT FROM OLD.group_name)
       OR (OLD.privilege >= 3 AND NEW.project IS DISTINCT FROM OLD.project) THEN
        RAISE EXCEPTION 'product %: a shared product keeps its group and project', OLD.pid
            USING ERRCODE = '42501';
    END IF;
    IF OLD.owner <> current_user THEN
        probe := NEW;
        probe.is_valid := OLD.is_valid;
        probe.inspected_by := OLD.inspected_by;
        IF to_jsonb(probe) IS DISTINCT FROM to_jsonb(OLD) THEN
            RAISE EXCEPTION 'product %: only its owner may change more than its QC verdict',
                OLD.pid USING ERRCODE = '42501';
        END IF;
    END IF;
    RETURN NEW;
END $$
"""


def _claims_table(with_scope: bool) -> None:
    op.drop_table("build_claims")
    columns = [sa.Column("target_key", sa.String(64), primary_key=True)]
    if with_scope:
        columns.append(sa.Column("scope", sa.String(110), primary_key=True))
    columns += [sa.Column("holder", sa.String(100), nullable=False)]
    if with_scope:
        columns.append(sa.Column("owner", sa.String(100), nullable=False))
    columns.append(sa.Column("expires_at", sa.Float, nullable=False))
    op.create_table("build_claims", *columns)


def upgrade() -> None:
    op.create_table(
        "lineage_members",
        sa.Column("username", sa.String(100), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
    )
    _claims_table(with_scope=True)
    op.create_index("ix_products_invalid", "products", ["seq"],
                    postgresql_where=sa.text("is_valid = 0"), sqlite_where=sa.text("is_valid = 0"))
    op.create_index("ix_products_data_uri", "products", ["data_uri"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{USERS_ROLE}') THEN
            CREATE ROLE {USERS_ROLE} NOLOGIN;
        END IF; END $$""")
    op.execute(PROCESS_USER)
    op.execute("REVOKE ALL ON FUNCTION lineage_process_user(bigint) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION lineage_process_user(bigint) TO {USERS_ROLE}")
    op.execute(DATA_URI_COUNT)
    op.execute("REVOKE ALL ON FUNCTION lineage_data_uri_count(text, bigint) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION lineage_data_uri_count(text, bigint) TO {USERS_ROLE}")
    op.execute(GUARD)
    op.execute("CREATE TRIGGER lineage_guard_product BEFORE UPDATE ON products "
               "FOR EACH ROW EXECUTE FUNCTION lineage_guard_product()")
    for table, policies in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, command, using, check in policies:
            clause = f" USING ({using})" if using else ""
            clause += f" WITH CHECK ({check})" if check else ""
            op.execute(f"CREATE POLICY {name} ON {table} FOR {command} TO {USERS_ROLE}{clause}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(TABLES)} TO {USERS_ROLE}")
    op.execute(f"GRANT SELECT ON lineage_members, alembic_version TO {USERS_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {USERS_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"REVOKE ALL ON {', '.join(TABLES)}, lineage_members FROM {USERS_ROLE}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {USERS_ROLE}")
        for table, policies in POLICIES.items():
            for name, *_ in policies:
                op.execute(f"DROP POLICY {name} ON {table}")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute("DROP TRIGGER lineage_guard_product ON products")
        op.execute("DROP FUNCTION lineage_guard_product()")
        op.execute("DROP FUNCTION lineage_process_user(bigint)")
        op.execute("DROP FUNCTION lineage_data_uri_count(text, bigint)")
    op.drop_index("ix_products_invalid", table_name="products")
    op.drop_index("ix_products_data_uri", table_name="products")
    _claims_table(with_scope=False)
    op.drop_table("lineage_members")
