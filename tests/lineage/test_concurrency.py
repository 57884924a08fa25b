"""N processes asking for the same target make it once (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import multiprocessing

import toys
from wisehub.lineage import Context, LineageStore


def test_concurrent_callers_make_one_product(db_url, storage):
    store = LineageStore(db_url, Context("ada"), storage=storage)  # schema exists before racing
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pids = pool.starmap(toys.get_slow_in_process,
                            [(db_url, storage.root, "shared")] * 4)
    assert len(set(pids)) == 1
    assert [p.pid for p in toys.Slow.query(label="shared").using(store)] == pids[:1]


def test_expired_claim_of_a_crashed_builder_is_taken_over(db_url, storage):
    from sqlalchemy import insert
    from wisehub.lineage.models import Claim

    store = LineageStore(db_url, Context("ada"), storage=storage)
    with store.engine.begin() as conn:  # a builder that died without releasing its claim
        conn.execute(insert(Claim).values(target_key=toys.Slow.key_of({"label": "orphan"}),
                                          holder="dead", expires_at=0.0))
    made = toys.Slow.get(store=store, label="orphan", seconds=0.0)
    assert made.meta["slept"] == 0.0
