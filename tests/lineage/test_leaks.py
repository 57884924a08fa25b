"""One test per leak and data-loss path of issue 13, each failing on the code before it."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from pathlib import Path

import pytest
import toys
from sqlalchemy import func, select
from wisehub.lineage import Context, LineageStore, PrivilegeError, UnknownProductError
from wisehub.lineage.claims import ClaimTimeout
from wisehub.lineage.models import Claim


@pytest.fixture
def ada_world_frame(make_store):
    """Ada's world-readable science frame made from her private raw frames."""
    ada = make_store("ada", groups=("lab",))
    frame = toys.register_night(ada)[0]
    sci = toys.Science.get(store=ada, frame=frame)
    ada.promote(sci.pid, "world")
    return ada, sci


def test_provenance_hides_unreadable_inputs(ada_world_frame, make_store):
    ada, sci = ada_world_frame
    bob = make_store("bob")
    process, used = bob.provenance(sci.pid)
    assert process["recipe"] and used == {}  # like inputs(): nothing of Ada's private raws
    assert bob.inputs(sci.pid) == {}
    assert sci.raw.pid in {p for pairs in ada.provenance(sci.pid)[1].values() for p, _ in pairs}


def test_tainted_says_nothing_about_unreadable_bad_products(ada_world_frame, make_store):
    ada, sci = ada_world_frame
    ada.invalidate(sci.raw.pid)  # private: Bob must not learn it was marked bad
    assert make_store("bob").tainted() == []
    assert [p.pid for p in ada.tainted()] == [sci.pid]


def test_promote_to_a_group_names_it_and_needs_membership(make_store):
    ada = make_store("ada", groups=("astro101", "lab"))
    secret = ada.register("Note", name="secret research")
    with pytest.raises(PrivilegeError, match="name the group"):
        ada.promote(secret.pid, "group")
    with pytest.raises(PrivilegeError, match="not in group 'other'"):
        ada.promote(secret.pid, "group", group="other")
    assert ada.product(secret.pid).privilege == "private"
    assert ada.promote(secret.pid, "group", group="lab").group == "lab"
    with pytest.raises(UnknownProductError):
        make_store("student", groups=("astro101",)).product(secret.pid)
    assert make_store("colleague", groups=("lab",)).product(secret.pid).name == "secret research"


def test_shared_data_is_not_deleted_under_other_users_products(make_store, storage):
    for key in ("raw/night.zarr", "raw/night-cy.zarr"):  # one store holds a night's frames
        (Path(storage.root) / key).mkdir(parents=True)
        (Path(storage.root) / key / ".zattrs").write_text("{}")
    uri = storage.url("raw/night.zarr")
    ada, bob = make_store("ada"), make_store("bob")
    ada.bulk_register("Raw", [("f1", {"frame": "f1"}, {}), ("f2", {"frame": "f2"}, {})],
                      data_uri=uri)
    bob.bulk_register("Raw", [("f1", {"frame": "f1"}, {})], data_uri=uri)
    f1 = ada.select("Raw", ())[-1]
    with pytest.raises(PrivilegeError, match="shared with 2 other products, 1 of them not yours"):
        ada.delete_data(f1.pid)
    assert all(p.has_data for p in ada.select("Raw", ()) + bob.select("Raw", ()))
    assert storage.exists(uri)
    cy = make_store("cy")  # all sharers are Cy's: every one of them is marked
    cy.bulk_register("Raw", [("g1", {}, {}), ("g2", {}, {})],
                     data_uri=storage.url("raw/night-cy.zarr"))
    first = cy.select("Raw", ())[0]
    cy.delete_data(first.pid)
    assert [p.has_data for p in cy.select("Raw", ())] == [False, False]
    assert not storage.exists("raw/night-cy.zarr") and storage.exists(uri)


def test_pickled_store_keeps_auto_upgrade_off(db_url, storage):
    from alembic import command
    from wisehub.lineage.schema import SchemaError, _config, schema_state

    LineageStore(db_url, Context("ada"))  # an operator migrated it
    store = LineageStore(db_url, Context("ada"), storage=storage, auto_upgrade=False,
                         claim_timeout=5.0)
    blob = pickle.dumps(store)
    config = _config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    with pytest.raises(SchemaError, match="wisehub db upgrade"):
        pickle.loads(blob)  # a Dask worker must not migrate the shared database
    assert schema_state(store.engine)[0] == "0002"


def _claims(store: LineageStore) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Claim))


def test_killed_build_leaves_a_claim_that_times_out_and_a_retry_succeeds(db_url, storage):
    cy = LineageStore(db_url, Context("cy", ("lab",), privilege="group"), storage=storage,
                      claim_timeout=1.0, claim_lease=3.0)
    other = LineageStore(db_url, Context("dan"), storage=storage, claim_timeout=1.0)
    spawn = multiprocessing.get_context("spawn")
    builder = spawn.Process(target=toys.get_slow_as,
                            args=(db_url, storage.root, "ada", ("lab",), "hung", 120.0, 3.0))
    builder.start()
    try:
        deadline = time.monotonic() + 120
        while _claims(cy) == 0:
            assert builder.is_alive() and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        builder.kill()
        builder.join()
    # a user building privately has another scope and does not wait at all
    assert other.context.user == "dan"
    assert toys.Slow.get(store=other, label="hung", seconds=0.0).owner == "dan"
    with pytest.raises(ClaimTimeout, match="scope group:lab.*expires 3 s after"):
        toys.Slow.get(store=cy, label="hung", seconds=0.0)
    cy.claim_timeout = 60.0  # the dead builder's lease lapses and the retry takes it over
    made = toys.Slow.get(store=cy, label="hung", seconds=0.0)
    assert made.owner == "cy" and made.group == "lab" and _claims(cy) == 0
