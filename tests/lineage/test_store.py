"""Store behaviour: QC and validity, lineage both ways, PROV export, deleted data, schema."""

from __future__ import annotations

import json

import pytest
import toys
from sqlalchemy import create_engine, text
from wisehub.lineage import Condition, LineageStore, SchemaError, upgrade
from wisehub.lineage.context import Context
from wisehub.lineage.schema import head_revision, schema_state


@pytest.fixture
def night(store):
    frames = toys.register_night(store)
    sci = toys.Science.get(store=store, frame=frames[0])
    return store, sci


def test_lineage_goes_down_to_raw_and_up_to_dependants(night):
    store, sci = night
    up = store.lineage(sci.pid)
    assert {p.type for p in up.upstream} == {"Raw", "Bias", "Flat"}
    assert sorted(p.attrs["kind"] for p in up.raw) == ["bias"] * 3 + ["flat"] * 2 + ["science"]
    assert up.downstream == []
    assert ("raws" in up.tree()) and up.tree().splitlines()[0] == f"Science {sci.name}"
    bias = sci.bias
    down = bias.lineage()
    assert {p.type for p in down.downstream} == {"Flat", "Science"}
    assert {p.type for p in down.upstream} == {"Raw"}


def test_prov_export_is_valid_w3c_prov(night):
    import prov.model as pm

    store, sci = night
    lin = store.lineage(sci.pid)
    doc = json.loads(lin.prov_json())
    entities = doc["entity"]
    assert f"uuid:{sci.pid}" in entities and len(entities) == 1 + len(lin.upstream)
    assert len(doc["activity"]) == 3  # Bias, Flat, Science processes
    roles = {u["prov:role"] for u in doc["used"].values()}
    assert roles == {"raws", "flats", "bias", "flat", "raw"}
    again = pm.ProvDocument.deserialize(content=lin.prov_json(), format="json")
    assert again == lin.to_prov()
    provn = lin.prov_n()
    assert provn.startswith("document") and f"wasGeneratedBy(uuid:{sci.pid}" in provn


def test_deleted_data_keeps_metadata_and_makes_dependants_rebuild(night):
    store, sci = night
    flat = sci.flat
    store.delete_data(flat.pid)
    kept = store.product(flat.pid)
    assert kept.data_deleted_at is not None and kept.checksum == flat.checksum
    assert not store.storage.exists(flat.data_uri)
    with pytest.raises(FileNotFoundError, match="metadata and lineage remain"):
        kept.open()
    assert store.lineage(sci.pid).upstream  # lineage is intact
    plan = toys.Science.plan(store=store, frame=sci.raw.frame)
    assert plan.inputs["flat"][0].reasons == ["its data was deleted"]


def test_inspect_and_calibration_selection(night):
    store, sci = night
    flat = sci.flat
    assert store.calibration("Flat", (Condition("chip", "==", "c1"),), at=60370.0) == flat
    newer = toys.Flat.get(store=store, night="2024-03-01", chip="c1", force=True)
    # the newest valid product eclipses the older one
    assert store.calibration("Flat", (), at=60370.0) == newer
    store.invalidate(newer.pid)
    assert store.calibration("Flat", (), at=60370.0) == flat
    assert store.calibration("Flat", (), at=60372.0) is None  # outside every window
    with pytest.raises(ValueError, match="is_valid must be 0"):
        store.inspect(flat.pid, 5)
    assert store.inspect(flat.pid, 2).is_valid == 2


def test_invalidation_marks_dependants_stale_queryably(night):
    store, sci = night
    assert store.tainted() == []
    store.invalidate(sci.bias.pid)
    assert {p.type for p in store.tainted()} == {"Flat", "Science"}
    assert [p.pid for p in store.tainted("Science")] == [sci.pid]
    assert store.lineage(sci.pid).invalid_upstream == [sci.bias]


def test_five_line_script_on_toys(night):
    store, _ = night
    for frame in ("2024-03-01-c1-science-1",):
        toys.Science.get(store=store, frame=frame)
    q = (toys.Science.chip == "c1") & (toys.Science.filter == "r")
    x = [k.imstat.stdev for k in q]
    y = [k.flat.imstat.stdev for k in q]
    assert len(x) == len(y) == 2 and len(set(y)) == 1 and all(v > 0 for v in x)


def test_queries_compare_numbers_and_strings(store):
    toys.register_night(store)
    assert len(toys.Raw.query(kind="bias")) == 3
    assert len((toys.Raw.level > 1000) & (toys.Raw.night == "2024-03-01")) == 2
    assert [p.name for p in toys.Raw.where(Condition("name", "like", "%flat-1"))] == [
        "2024-03-01-c1-flat-1"]
    assert len(toys.Raw.kind.isin(["flat", "science"])) == 4


def test_schema_upgrade_and_newer_schema_is_refused(db_url):
    engine = create_engine(db_url)
    assert schema_state(engine) == (None, head_revision())
    assert upgrade(engine) == head_revision()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="newer than this wisehub knows"):
        upgrade(engine)
    with pytest.raises(SchemaError, match="newer than this wisehub knows"):
        LineageStore(db_url, Context("ada"), engine=engine)
    assert schema_state(engine)[0] == "9999"  # left unchanged
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE alembic_version SET version_num = '{head_revision()}'"))
    engine.dispose()


def test_older_schema_is_migrated_step_by_step(db_url):
    engine = create_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO products (pid, type, name, owner, privilege, created_at, "
                          "meta, quality_flags, is_valid) VALUES ('p1', 'Raw', 'kept', 'ada', 1, "
                          "'2024-01-01 00:00:00', '{}', 0, 1)"))
    with pytest.raises(SchemaError, match="run `wisehub db upgrade`"):
        LineageStore(db_url, Context("ada"), engine=engine, auto_upgrade=False)
    assert upgrade(engine) == head_revision() == "0005"
    store = LineageStore(db_url, Context("ada"), engine=engine, auto_upgrade=False)
    assert store.product("p1").name == "kept"
    engine.dispose()




def _open_at_once(url: str, barrier) -> str:
    """In a child process: wait for the others, then open the store (migrating if needed)."""
    barrier.wait()
    LineageStore(url, Context("ada")).engine.dispose()
    return "ok"


def test_processes_opening_a_new_database_together_all_get_the_schema(tmp_path):
    """Two batch jobs finishing together both found an empty database and both created it;
    the second failed with 'table already exists'. Four processes open new databases at once."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(4) as pool:
        for attempt in range(3):
            url = f"sqlite:///{tmp_path / f'shared-{attempt}.sqlite'}"
            barrier = manager.Barrier(4)
            results = [pool.apply_async(_open_at_once, (url, barrier)) for _ in range(4)]
            assert [r.get(timeout=120) for r in results] == ["ok"] * 4
            engine = create_engine(url)
            assert schema_state(engine) == (head_revision(), head_revision())
            engine.dispose()
