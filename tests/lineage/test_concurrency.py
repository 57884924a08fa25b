"""N processes asking for the same target make it once (SQLite and a real PostgreSQL).

The callers meet at a barrier before asking, so they really race: each plans the product as
missing and goes to build it. Only the build claim makes all but one wait and find it made
(without claims this test fails with four products).
"""

from __future__ import annotations

import multiprocessing

import toys
from wisehub.lineage import Context, LineageStore


def test_concurrent_callers_make_one_product(db_url, storage):
    store = LineageStore(db_url, Context("ada"), storage=storage)  # schema exists before racing
    spawn = multiprocessing.get_context("spawn")
    with spawn.Manager() as manager, spawn.Pool(4) as pool:
        start = manager.Barrier(4)
        pids = pool.starmap(toys.get_slow_in_process,
                            [(db_url, storage.root, "shared", start)] * 4)
    assert len(pids) == 4 and len(set(pids)) == 1
    assert [p.pid for p in toys.Slow.query(label="shared").using(store)] == pids[:1]


def test_expired_claim_of_a_crashed_builder_is_taken_over(db_url, storage):
    from sqlalchemy import insert
    from wisehub.lineage.models import Claim

    store = LineageStore(db_url, Context("ada"), storage=storage)
    with store.engine.begin() as conn:  # a builder that died without releasing its claim
        conn.execute(insert(Claim).values(target_key=toys.Slow.key_of({"label": "orphan"}),
                                          scope="user:ada", owner="ada", holder="dead",
                                          expires_at=0.0))
    made = toys.Slow.get(store=store, label="orphan", seconds=0.0)
    assert made.meta["slept"] == 0.0
