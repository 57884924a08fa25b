"""PostgreSQL row-level security: a user who speaks SQL as their own role gets no more.

Ada (group ``lab``) makes a private science frame with her own database role, provisioned as
the hub provisions it (:func:`wisehub.lineage.roles.provision_user`). Bob, whose role is in
group ``other``, then attacks with raw SQL and through every public API, claiming to be Ada
in his context and in ``WISEHUB_USER``/``WISEHUB_GROUPS``. Each check fails on a database
without migration 0003's policies (the role would see and change everything).
"""

from __future__ import annotations

import psycopg
import pytest
import toys
from sqlalchemy import make_url, text
from wisehub.lineage import Context, LineageStore, PrivilegeError, UnknownProductError
from wisehub.lineage.roles import RoleError, provision_user
from wisehub.lineage.store import close_engine, set_default_store

pytestmark = pytest.mark.postgres


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def world(pg_server, storage):
    """The admin URL, Ada's and Bob's role URLs, and Ada's private science frame."""
    admin = pg_server.create_database()
    LineageStore(admin, Context("hub"))  # migrate as the table owner (the hub's role)
    ada_url = provision_user(admin, "ada", groups=["lab"], projects=["survey"])
    bob_url = provision_user(admin, "bob", groups=["other"])
    ada = LineageStore(ada_url, Context("ada", ("lab",), ("survey",)), storage=storage)
    frame = toys.register_night(ada)[0]
    sci = toys.Science.get(store=ada, frame=frame)
    yield admin, ada_url, bob_url, ada, sci
    for url in (admin, ada_url, bob_url):
        close_engine(url)


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(_libpq(url)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("products", "processes", "product_attrs", "used")}


def test_raw_sql_as_bob_sees_and_changes_nothing_of_adas(world):
    admin, ada_url, bob_url, ada, sci = world
    before = _counts(admin)
    assert min(before.values()) > 0 and _counts(ada_url) == before
    assert _counts(bob_url) == dict.fromkeys(before, 0)
    with psycopg.connect(_libpq(bob_url), autocommit=True) as conn:
        for statement in ("UPDATE products SET is_valid = 0",
                          "UPDATE products SET privilege = 4, owner = 'bob'",
                          "UPDATE processes SET status = 'forged'",
                          "UPDATE product_attrs SET value_str = 'x'",
                          "DELETE FROM used", "DELETE FROM product_attrs",
                          "DELETE FROM products", "DELETE FROM processes"):
            assert conn.execute(statement).rowcount == 0, statement
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a product "by Ada"
            conn.execute("INSERT INTO products (pid, type, name, owner, privilege, created_at, "
                         "meta, quality_flags, is_valid) VALUES ('forged', 'Note', 'x', 'ada', "
                         "4, now(), '{}', 0, 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # into Ada's group
            conn.execute("INSERT INTO products (pid, type, name, owner, group_name, privilege, "
                         "created_at, meta, quality_flags, is_valid) VALUES ('forged', 'Note', "
                         "'x', 'bob', 'lab', 2, now(), '{}', 0, 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # joining a group himself
            conn.execute("INSERT INTO lineage_members VALUES ('bob', 'group', 'lab')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a claim in Ada's scope
            conn.execute("INSERT INTO build_claims VALUES ('k', 'user:ada', 'h', 'bob', 1e12)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE products DISABLE ROW LEVEL SECURITY")
    assert _counts(admin) == before
    assert ada.product(sci.pid).is_valid == 1 and ada.product(sci.pid).privilege == "private"


def test_promotion_only_widens_only_by_the_owner_only_to_her_groups(world):
    admin, ada_url, _, ada, sci = world
    with (psycopg.connect(_libpq(ada_url), autocommit=True) as conn,
          pytest.raises(psycopg.errors.InsufficientPrivilege)):  # a group she is not in
        conn.execute("UPDATE products SET privilege = 2, group_name = 'other' "
                         "WHERE pid = %s", (sci.pid,))
    ada.promote(sci.pid, "group", group="lab")
    with psycopg.connect(_libpq(ada_url), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only widens"):
            conn.execute("UPDATE products SET privilege = 1 WHERE pid = %s", (sci.pid,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="keeps its group"):
            conn.execute("UPDATE products SET group_name = 'survey' WHERE pid = %s",
                         (sci.pid,))
    cy_url = provision_user(admin, "cy", groups=["lab"])
    try:
        with psycopg.connect(_libpq(cy_url), autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM products WHERE pid = %s",
                                (sci.pid,)).fetchone()[0] == 1
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="QC verdict"):
                conn.execute("UPDATE products SET privilege = 4 WHERE pid = %s", (sci.pid,))
            assert conn.execute("UPDATE products SET is_valid = 2, inspected_by = 'cy' "
                                "WHERE pid = %s", (sci.pid,)).rowcount == 1
            assert conn.execute("DELETE FROM products WHERE pid = %s", (sci.pid,)).rowcount == 0
    finally:
        close_engine(cy_url)
    assert ada.product(sci.pid).is_valid == 2 and ada.product(sci.pid).privilege == "group"


def test_public_apis_as_bobs_role_ignore_who_he_claims_to_be(world, storage, monkeypatch):
    from typer.testing import CliRunner
    from wisehub.cli import app

    _, _, bob_url, ada, sci = world
    monkeypatch.setenv("WISEHUB_USER", "ada")
    monkeypatch.setenv("WISEHUB_GROUPS", "lab")
    bob = LineageStore(bob_url, Context("ada", ("lab",), ("survey",), privilege="group"),
                       storage=storage)
    assert (bob.context.user, bob.context.groups, bob.context.projects) == ("bob", ("other",), ())
    for pid in (sci.pid, sci.raw.pid, sci.flat.pid):
        for call in (bob.product, bob.inputs, bob.provenance, bob.process, bob.lineage,
                     bob.invalidate, bob.delete_data, lambda p: bob.promote(p, "world")):
            with pytest.raises(UnknownProductError):
                call(pid)
    assert bob.select(None, ()) == [] and bob.count(None, ()) == 0
    assert list((toys.Science.chip == "c1").using(bob)) == []
    assert bob.latest(sci.target_key) is None
    ada.invalidate(sci.raw.pid)
    assert bob.tainted() == [] and [p.pid for p in ada.tainted()] == [sci.pid]
    set_default_store(bob)
    try:
        for command in ("show", "tree", "prov"):
            result = CliRunner().invoke(app, ["lineage", command, sci.pid])
            assert isinstance(result.exception, UnknownProductError), command
    finally:
        set_default_store(None)
    # his context cannot write into Ada's group either: it takes the role's group
    assert LineageStore(bob_url, Context("bob", ("lab",), privilege="group")).context.group \
        == "other"
    with pytest.raises(PrivilegeError, match="has no group"):
        LineageStore(provision_user(world[0], "dan"), Context("dan", ("lab",), privilege="group"))
    mine = bob.register("Note", name="bob's")
    assert mine.owner == "bob" and mine.privilege == "group" and mine.group == "other"
    assert {p.owner for p in bob.select(None, ())} == {"bob"}


def test_provisioning_refuses_existing_non_user_roles(world):
    admin, *_ = world
    for name in ("wisehub", "pg_monitor", "wisehub_users", ""):
        with pytest.raises(RoleError):
            provision_user(admin, name)
    again = provision_user(admin, "bob", groups=["lab"])  # membership follows the hub's groups
    with LineageStore(again, Context("bob")).engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM lineage_members")).scalars().all() == ["lab"]
    close_engine(again)


def test_a_role_is_entered_only_with_its_own_password(world):
    admin, _, bob_url, *_ = world
    bobs = make_url(bob_url)
    for user in ("ada", "wisehub"):  # Ada's role, the superuser: not with Bob's password
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(_libpq(bobs.set(username=user).render_as_string(
                hide_password=False))).close()
    stale = bob_url
    fresh = provision_user(admin, "bob", groups=["other"])  # a new spawn: a new password
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_libpq(stale)).close()
    psycopg.connect(_libpq(fresh)).close()
    close_engine(fresh)


def test_publishing_records_are_read_and_written_under_the_product_rules(world):
    """Before migration 0005 user roles had no grant on records (publishing as a user failed)
    and nothing tied a record to the product or owner it names."""
    from wisehub.publish.records import Records, UnknownRecordError, promote

    admin, _, bob_url, ada, sci = world
    project = promote(ada, sci.pid, "project", collection="survey")  # as Ada's own role
    note = ada.register("Note", name="open")
    public = promote(ada, note.pid, "world", collection="whcam")
    assert project.owner == public.owner == "ada"
    bob = LineageStore(bob_url, Context("bob"))
    assert Records.of(bob).get(public.pid).pid == public.pid
    with pytest.raises(UnknownRecordError):
        Records.of(bob).get(project.pid)
    row = ("'{}', now(), now()")
    with psycopg.connect(_libpq(bob_url), autocommit=True) as conn:
        assert conn.execute("SELECT pid FROM records").fetchall() == [(public.pid,)]
        for statement in ("UPDATE records SET owner = 'bob'", "UPDATE records SET privilege = 1",
                          "DELETE FROM records"):
            assert conn.execute(statement).rowcount == 0, statement
        for owner, kind, source, pid in (
                ("ada", "dataset", "cat#x", "forged-1"),       # a record "by Ada"
                ("bob", "product", sci.pid, sci.pid),          # Ada's product, as his
                ("bob", "product", note.pid, "forged-2")):     # another id for her product
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("INSERT INTO records (pid, kind, source, owner, privilege, "
                             f"datacite, created_at, updated_at) VALUES (%s, %s, %s, %s, 4, "
                             f"{row})", (pid, kind, source, owner))
        conn.execute("INSERT INTO records (pid, kind, source, owner, privilege, datacite, "
                     f"created_at, updated_at) VALUES ('bobs', 'dataset', 'cat#b', 'bob', 4, "
                     f"{row})")
    with psycopg.connect(_libpq(admin)) as conn:
        kept = conn.execute("SELECT pid, owner, privilege FROM records ORDER BY pid").fetchall()
    assert kept == sorted([(project.pid, "ada", 3), (public.pid, "ada", 4), ("bobs", "bob", 4)])
    close_engine(bob_url)
