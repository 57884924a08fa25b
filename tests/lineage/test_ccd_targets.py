"""The CCD pipeline targets on the sample nights: raw to reduced frames, the five-line script,
invalidation, and a coadd. Runs on SQLite and a real PostgreSQL."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import wisehub as wh
from wisehub.lineage import OUTDATED, TO_BUILD
from wisehub.pipelines.ccd import (
    QC,
    Coadd,
    MasterBias,
    MasterDark,
    MasterFlat,
    RawFrame,
    ReducedScienceFrame,
    register_raw,
)

NIGHT = "2024-03-01"


@pytest.fixture
def ccd_store(store, sample_set):
    assert register_raw(store, str(sample_set.stores["raw"])) == 102  # 3 nights x 2 chips x 17
    assert register_raw(store, str(sample_set.stores["raw"])) == 0  # re-ingest adds nothing
    return store


def _science(store, chip="ccd1", filt="r", night=NIGHT):
    return [p.frame for p in RawFrame.query(imagetyp="SCIENCE", chip=chip, filter=filt,
                                            night=night).using(store)]


def test_reduced_frame_pulls_everything_back_to_raw(ccd_store, sample_set):
    store = ccd_store
    frame = _science(store)[0]
    plan = ReducedScienceFrame.plan(store=store, frame=frame)
    assert plan.status == TO_BUILD
    built = {n.target.type_name for n in plan.to_build()}
    assert built == {"MasterBias", "MasterDark", "MasterFlat", "ReducedScienceFrame"}
    assert plan.count() == 1 + 1 + (1 + 5) + (1 + 3) + (1 + 2)  # frame, its raw, masters+raws

    frames = _science(store)
    reduced = [wh.targets.ReducedScienceFrame.get(store=store, frame=f) for f in frames]
    assert len({r.flat.pid for r in reduced}) == 1  # one flat made, used by every frame
    assert len(MasterBias.query(night=NIGHT, chip="ccd1").using(store)) == 1

    # the master flat recovers the camera's true flat pattern
    flat = reduced[0].flat.open()["data"].values
    truth = sample_set.maps()["flat_ccd1_r"][: flat.shape[0], : flat.shape[1]]
    assert np.corrcoef(flat.ravel(), truth.ravel())[0, 1] > 0.9
    # the bias level QC input is the true level of the chip that night
    true_level = sample_set.truth["chips"]["ccd1"]["bias_level"][0]
    assert reduced[0].bias.raw_level == pytest.approx(true_level, abs=20)

    # Astro-WISE's five-line script, against the default store
    q = (ReducedScienceFrame.chip == "ccd1") & (ReducedScienceFrame.filter == "r")
    x = [k.imstat.stdev for k in q]
    y = [k.flat.imstat.stdev for k in q]
    points = plt.scatter(x, y)
    assert points.get_offsets().shape == (len(frames), 2)
    assert len(set(y)) == 1 and all(v > 0 for v in x)
    plt.close("all")

    up = store.lineage(reduced[0].pid)
    assert {p.attrs["imagetyp"] for p in up.raw} == {"BIAS", "DARK", "FLAT", "SCIENCE"}


@pytest.fixture(scope="module")
def sqlite_ccd(raw_lineage):
    """One SQLite store with the sample raw frames, shared by the QC and coadd tests."""
    return raw_lineage("ccd")


def test_invalidated_flat_is_remade_and_eclipses(sqlite_ccd):
    store = sqlite_ccd
    frame = _science(store)[0]
    first = ReducedScienceFrame.get(store=store, frame=frame)
    store.invalidate(first.flat.pid)
    plan = ReducedScienceFrame.plan(store=store, frame=frame)
    assert plan.status == OUTDATED
    assert plan.inputs["flat"][0].reasons == ["marked bad (is_valid=0)"]
    second = ReducedScienceFrame.get(store=store, frame=frame)
    assert second.flat != first.flat and second.bias == first.bias
    assert store.calibration("MasterFlat", (), at=first.raw.mjd_obs) == second.flat


def test_flagged_master_bias_is_skipped_by_calibration_selection(sqlite_ccd):
    store = sqlite_ccd
    frame = _science(store)[0]
    strict = MasterBias.get(store=store, night=NIGHT, chip="ccd1", level_range=[0.0, 10.0])
    assert QC(strict.quality_flags) == QC.LEVEL_OUT_OF_RANGE
    reduced = ReducedScienceFrame.get(store=store, frame=frame)
    assert reduced.bias != strict and reduced.bias.quality_flags == 0
    assert reduced.flat.bias == reduced.bias


def test_coadd_of_a_night(sqlite_ccd):
    store, night = sqlite_ccd, "2024-03-02"
    target = RawFrame.query(imagetyp="SCIENCE", night=night, filter="g").using(store).first()
    coadd = Coadd.get(store=store, night=night, object=target.object, filter="g")
    assert coadd.n_inputs == len(coadd.frames) >= 4  # both chips, dithered pairs
    image = coadd.open()["data"]
    assert image.attrs["NEXPOSURE"] == coadd.n_inputs and np.isfinite(image.values).any()
    assert Coadd.plan(store=store, night=night, object=target.object, filter="g").status \
        == "up to date"
    assert MasterFlat.query(filter="g", night=night).using(store).all()
    assert QC.SATURATED not in QC(coadd.frames[0].flat.quality_flags)


def test_a_library_fix_makes_products_stale_and_the_plan_says_which(sqlite_ccd, monkeypatch):
    from wisehub.lineage import code, forget_code_versions

    store = sqlite_ccd
    bias = MasterBias.get(store=store, night=NIGHT, chip="ccd2")
    assert "wisehub.reduce.combination" in MasterBias.code().parts  # reached through master_bias
    assert "wisehub.reduce.calibration" in ReducedScienceFrame.code().parts
    assert bias.code_version == MasterBias.code_version()
    assert bias.code_version.startswith(wh.__version__ + "+")
    source = code.module_source

    def fixed(name: str) -> str:  # a fix in the combine kernels, as seen by the hash
        return source(name) + ("\n# a fix\n" if name == "wisehub.reduce.combination" else "")

    monkeypatch.setattr(code, "module_source", fixed)
    forget_code_versions()
    try:
        plan = MasterBias.plan(store=store, night=NIGHT, chip="ccd2")
        assert plan.status == OUTDATED
        assert plan.reasons == [f"code version changed ({bias.code_version} → "
                                f"{MasterBias.code_version()}: wisehub.reduce.combination changed)"]
        assert "wisehub.reduce.combination changed" in str(plan)
        remade = MasterBias.get(store=store, night=NIGHT, chip="ccd2")
        assert remade != bias and remade.code_version == MasterBias.code_version()
    finally:
        monkeypatch.undo()
        forget_code_versions()


@pytest.fixture
def chunk_reads(monkeypatch):
    """Counts reads of pixel chunks (``data/c/...``) per (store, key), wherever they are
    read: through Zarr's stores, or in place from local files (:mod:`wisehub.storage.mmapread`,
    where a key is the region of one dask chunk)."""
    import os
    from collections import Counter

    import zarr.storage
    from wisehub.storage import mmapread

    reads: Counter[tuple[str, str]] = Counter()
    for cls in (zarr.storage.LocalStore, zarr.storage.FsspecStore):
        original = cls.get

        async def counting(self, key, *args, _original=original, **kwargs):
            if key.startswith("data/c/"):
                reads[(str(getattr(self, "root", getattr(self, "path", ""))), key)] += 1
            return await _original(self, key, *args, **kwargs)

        monkeypatch.setattr(cls, "get", counting)
    in_place_read = mmapread.ChunkReader.__getitem__  # one call per dask chunk

    def in_place(self, key):
        if os.path.basename(self.path) == "data":
            reads[(os.path.dirname(self.path), f"data/c/{key}")] += 1
        return in_place_read(self, key)

    monkeypatch.setattr(mmapread.ChunkReader, "__getitem__", in_place)
    return reads


def test_each_raw_chunk_is_read_once_per_master(raw_lineage, sample_set, chunk_reads):
    store = raw_lineage("read-once")
    raw_root = str(sample_set.stores["raw"])

    def raw_reads() -> list[int]:
        return [n for (root, _), n in chunk_reads.items() if root.rstrip("/") == raw_root]

    MasterBias.get(store=store, night=NIGHT, chip="ccd1")
    assert raw_reads() and max(raw_reads()) == 1  # statistics, imstat and write: one pass
    MasterDark.get(store=store, night=NIGHT, chip="ccd1")
    chunk_reads.clear()
    flat = MasterFlat.get(store=store, night=NIGHT, chip="ccd1", filter="r")
    # (a tiled raw store holds several frames per chunk, so there may be fewer reads than
    # input frames; each region is still read exactly once)
    assert flat.n_inputs >= 2 and raw_reads() and max(raw_reads()) == 1
    # the master bias and dark the flat used were read once each as well
    assert max(chunk_reads.values()) == 1
