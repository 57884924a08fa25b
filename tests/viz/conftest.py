"""Viz fixtures: a small lineage store built from the session's sample nights (SQLite)."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def ccd_lineage(raw_lineage):
    """A store with one reduced frame, its bias invalidated and re-made, and a flagged bias."""
    from wisehub.pipelines.ccd import MasterBias, RawFrame, ReducedScienceFrame

    store = raw_lineage("viz-lineage")
    frame = RawFrame.query(imagetyp="SCIENCE", chip="ccd1", filter="r",
                           night="2024-03-01").using(store).first().frame
    reduced = ReducedScienceFrame.get(store=store, frame=frame)
    store.invalidate(reduced.bias.pid)
    remade = MasterBias.get(store=store, night="2024-03-01", chip="ccd1")
    flagged = MasterBias.get(store=store, night="2024-03-02", chip="ccd1", level_range=[0.0, 1.0])
    return store, reduced, remade, flagged
