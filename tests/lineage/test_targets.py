"""Backward chaining, staleness, dry-run plans, force, atomicity and bad input.

Runs on SQLite and on a real PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import toys
from sqlalchemy import func, select
from wisehub.lineage import OUTDATED, TO_BUILD, UP_TO_DATE, TargetError
from wisehub.lineage.models import Claim, Process, Product


def _count(store, type_name=None) -> int:
    with store.session() as s:
        stmt = select(func.count()).select_from(Product)
        if type_name:
            stmt = stmt.where(Product.type == type_name)
        return s.scalar(stmt)


def test_get_pulls_everything_back_to_raw(store):
    frame = toys.register_night(store)[0]
    plan = toys.Science.get(store=store, frame=frame, dry_run=True)
    assert [n.status for n in plan.walk()] == [UP_TO_DATE, TO_BUILD, TO_BUILD, TO_BUILD]
    assert "Science(frame=" in str(plan) and "biases" not in str(plan)
    assert _count(store) == 7  # a dry run makes nothing

    sci = toys.Science.get(store=store, frame=frame)
    assert sci.type == "Science" and sci.chip == "c1"
    assert {p.type for p in store.select(None, ())} >= {"Bias", "Flat", "Science"}
    # the data is there and matches the toy arithmetic: (600 - 101) / (1100.5 - 101)
    value = float(sci.open()["data"].values[0, 0])
    assert value == pytest.approx((600 - 101) / (1100.5 - 101), rel=1e-6)
    # linked products by role, as in the Astro-WISE five-line script
    assert sci.flat.type == "Flat" and sci.flat.bias.type == "Bias"
    assert sci.bias == sci.flat.bias  # the shared bias is made once and used twice
    assert _count(store, "Bias") == 1

    again = toys.Science.plan(store=store, frame=frame)
    assert {n.status for n in again.walk()} == {UP_TO_DATE}
    assert toys.Science.get(store=store, frame=frame) == sci


def test_new_input_makes_dependants_outdated(store):
    frame = toys.register_night(store)[0]
    sci = toys.Science.get(store=store, frame=frame)
    store.register("Raw", name="late-bias", attrs={"frame": "late", "night": "2024-03-01",
                                                   "chip": "c1", "kind": "bias", "mjd": 60370.2,
                                                   "level": 130.0})
    plan = toys.Science.plan(store=store, frame=frame)
    bias = plan.inputs["bias"][0]
    assert bias.status == OUTDATED and bias.reasons == ["input raws now selects other products"]
    assert plan.status == OUTDATED and "input bias will be remade" in plan.reasons
    newer = toys.Science.get(store=store, frame=frame)
    assert newer != sci and newer.bias.imstat.n == 4


def test_parameter_and_code_changes_make_products_outdated(store, monkeypatch):
    toys.register_night(store)
    first = toys.Bias.get(store=store, night="2024-03-01", chip="c1")
    plan = toys.Bias.plan(store=store, night="2024-03-01", chip="c1", scale=2.0)
    assert plan.status == OUTDATED and plan.reasons == ["parameters changed"]
    doubled = toys.Bias.get(store=store, night="2024-03-01", chip="c1", scale=2.0)
    assert doubled.imstat.mean == pytest.approx(2 * first.imstat.mean)

    monkeypatch.setattr(toys.Bias, "version", "2")
    plan = toys.Bias.plan(store=store, night="2024-03-01", chip="c1", scale=2.0)
    assert plan.status == OUTDATED and plan.reasons[0].startswith("code version changed")


def test_force_remakes_only_the_root(store):
    frame = toys.register_night(store)[0]
    sci = toys.Science.get(store=store, frame=frame)
    plan = toys.Science.get(store=store, frame=frame, force=True, dry_run=True)
    assert plan.status == OUTDATED and plan.reasons == ["forced"]
    assert {n.status for n in plan.children()} == {UP_TO_DATE}
    forced = toys.Science.get(store=store, frame=frame, force=True)
    assert forced != sci and forced.flat == sci.flat and _count(store, "Flat") == 1


def test_invalidated_input_marks_dependants_outdated(store):
    frame = toys.register_night(store)[0]
    toys.Science.get(store=store, frame=frame)
    bias = toys.Bias.query(chip="c1").first()
    store.invalidate(bias.pid)
    plan = toys.Science.plan(store=store, frame=frame)
    assert plan.inputs["bias"][0].reasons == ["marked bad (is_valid=0)"]
    remade = toys.Science.get(store=store, frame=frame)
    assert remade.bias != bias and remade.bias.is_valid == 1


def test_invalidated_raw_frame_is_no_longer_selected(store):
    toys.register_night(store)
    bias = toys.Bias.get(store=store, night="2024-03-01", chip="c1")
    raw = bias.raws[0]
    store.invalidate(raw.pid)
    plan = toys.Bias.plan(store=store, night="2024-03-01", chip="c1")
    assert plan.reasons == ["input raws now selects other products"]
    assert raw not in toys.Bias.get(store=store, night="2024-03-01", chip="c1").raws


def test_qc_flagged_calibration_stops_processing(store):
    frame = toys.register_night(store, biases=1)[0]
    with pytest.raises(TargetError, match="failed QC"):
        toys.Science.get(store=store, frame=frame)
    bias = toys.Bias.query(night="2024-03-01").first()
    assert bias.quality_flags == toys.LOW_COUNT
    assert _count(store, "Science") == 0 and _count(store, "Flat") == 0
    with pytest.raises(TargetError, match="failed QC"):
        toys.Science.plan(store=store, frame=frame)


def test_bad_input_fails_clearly_and_changes_nothing(store):
    toys.register_night(store)
    before = _count(store)
    with pytest.raises(TargetError, match=r"selects 0 valid product\(s\)"):
        toys.Bias.get(store=store, night="2099-01-01", chip="c1")
    with pytest.raises(TargetError, match="no Raw with frame='nope' is registered"):
        toys.Science.get(store=store, frame="nope")
    with pytest.raises(TargetError, match=r"cycle in target inputs: Loop.*Loop2.*Loop"):
        toys.Loop.get(store=store, n=1)
    with pytest.raises(TargetError, match=r"missing key.*night.*unknown name.*colour"):
        toys.Bias.get(store=store, chip="c1", colour="red")
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Process)) == 0
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
    assert _count(store) == before


def test_ambiguous_single_input_needs_a_rule(store):
    class One(toys.Target):
        keys = ("night",)
        raw = toys.Select(toys.Raw, lambda t: {"night": t.night, "kind": "bias"}, many=False)

        def make(self):
            return toys.Result(meta={"frame": self.raw.frame})

    toys.register_night(store)
    with pytest.raises(TargetError, match="ambiguous, 3 candidates"):
        One.get(store=store, night="2024-03-01")
    chosen = toys.Raw.query(frame="2024-03-01-c1-bias-1").first()
    made = One.get(store=store, night="2024-03-01", use={"raw": chosen})
    assert made.raw == chosen


def test_failed_make_registers_nothing_and_cleans_staging(store, monkeypatch):
    toys.register_night(store)

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("xarray.Dataset.to_zarr", broken)
    with pytest.raises(OSError, match="disk full"):
        toys.Bias.get(store=store, night="2024-03-01", chip="c1")
    assert _count(store, "Bias") == 0
    root = store.storage.root
    leftovers = [p for p in store.storage.fs.find(root) if "Bias" in p or ".staging" in p]
    assert leftovers == []


def test_failed_registration_removes_written_data(store, monkeypatch):
    toys.register_night(store)

    def refuse(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(type(store), "register", refuse)
    with pytest.raises(RuntimeError, match="database went away"):
        toys.Bias.get(store=store, night="2024-03-01", chip="c1")
    assert [p for p in store.storage.fs.find(store.storage.root) if "Bias" in p] == []


def test_independent_branches_are_made_in_parallel(store):
    pair = toys.Pair.get(store=store, label="p")
    assert pair.meta["sum"] == pytest.approx(3.0)
    left, right = pair.left.meta, pair.right.meta
    assert left["start"] < right["end"] and right["start"] < left["end"], \
        "the two branches ran one after the other"


def test_validity_window_selects_the_covering_calibration(store):
    frames = toys.register_night(store, night="2024-03-01", mjd=60370.0)
    toys.register_night(store, night="2024-03-02", mjd=60371.0)
    sci = toys.Science.get(store=store, frame=frames[0])
    assert sci.flat.night == "2024-03-01"
    later = toys.Science.get(store=store, frame="2024-03-02-c1-science-0")
    assert later.flat.night == "2024-03-02"
    assert np.isclose(later.flat.valid_from, 60370.5)


def test_branches_run_on_a_dask_cluster(store):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        pair = toys.Pair.get(store=store, label="on-cluster")
    left, right = pair.left.meta, pair.right.meta
    assert left["start"] < right["end"] and right["start"] < left["end"]
