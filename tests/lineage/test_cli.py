"""``wisehub lineage …`` and ``wisehub db upgrade`` through the real CLI app."""

from __future__ import annotations

import json

import toys
from typer.testing import CliRunner
from wisehub.cli import app
from wisehub.lineage import UnknownProductError

runner = CliRunner()


def test_show_tree_prov_inspect_invalidate(store, tmp_path):
    frame = toys.register_night(store)[0]
    sci = toys.Science.get(store=store, frame=frame)

    shown = runner.invoke(app, ["lineage", "show", sci.pid])
    assert shown.exit_code == 0, shown.output
    fields = json.loads(shown.output)
    assert fields["type"] == "Science" and set(fields["inputs"]) == {"raw", "bias", "flat"}

    tree = runner.invoke(app, ["lineage", "tree", sci.bias.pid])
    assert tree.exit_code == 0 and "raws: Raw" in tree.output and "depended on by" in tree.output

    out = tmp_path / "sci.provn"
    exported = runner.invoke(app, ["lineage", "prov", sci.pid, "--format", "provn",
                                   "--output", str(out)])
    assert exported.exit_code == 0 and out.read_text().startswith("document")
    assert runner.invoke(app, ["lineage", "prov", sci.pid, "--format", "xml"]).exit_code == 2

    judged = runner.invoke(app, ["lineage", "inspect", sci.pid, "--valid", "2"])
    assert judged.exit_code == 0 and store.product(sci.pid).is_valid == 2

    bad = runner.invoke(app, ["lineage", "invalidate", sci.bias.pid])
    assert bad.exit_code == 0 and "2 dependant(s) stale" in bad.output

    missing = runner.invoke(app, ["lineage", "show", "0000"])
    assert isinstance(missing.exception, UnknownProductError)


def test_db_upgrade(db_url):
    first = runner.invoke(app, ["db", "upgrade", "--url", db_url])
    assert first.exit_code == 0 and "empty → 0005" in first.output
    again = runner.invoke(app, ["db", "upgrade", "--url", db_url])
    assert "already at 0005" in again.output


def test_register_raw_and_default_store_from_settings(sample_set, tmp_path, monkeypatch):
    from wisehub.config import get_settings
    from wisehub.lineage import default_store, set_default_store

    monkeypatch.setenv("WISEHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WISEHUB_USER", "cy")
    monkeypatch.setenv("WISEHUB_GROUPS", "lab")
    monkeypatch.setenv("WISEHUB_LINEAGE_PRIVILEGE", "group")
    get_settings.cache_clear()
    set_default_store(None)
    try:
        done = runner.invoke(app, ["lineage", "register-raw", str(sample_set.stores["raw"])])
        assert done.exit_code == 0 and "registered 102 new raw frame(s)" in done.output
        store = default_store()
        assert str(store.engine.url).endswith(str(tmp_path / "lineage.sqlite"))
        raw = store.select("RawFrame", (), limit=1)[0]
        assert (raw.owner, raw.privilege, raw.group) == ("cy", "group", "lab")
    finally:
        set_default_store(None)
        get_settings.cache_clear()


def test_samples_make_registers_raw_frames_so_targets_work_at_once(tmp_path, monkeypatch):
    import wisehub as wh
    from wisehub.config import get_settings
    from wisehub.lineage import set_default_store

    monkeypatch.setenv("WISEHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WISEHUB_USER", "newcomer")
    get_settings.cache_clear()
    set_default_store(None)
    try:
        made = runner.invoke(app, ["samples", "make", "--size", "tiny", "--nights", "1",
                                   "--chips", "1", "--events", "100"])
        assert made.exit_code == 0, made.output
        assert "registered 17 raw frame(s) in the lineage store" in made.output
        # the quickstart's target-processing lines, right after `wisehub samples make`
        science = wh.targets.RawFrame.query(imagetyp="SCIENCE").first()
        reduced = wh.targets.ReducedScienceFrame.get(frame=science.frame)
        assert reduced.owner == "newcomer" and reduced.flat.type == "MasterFlat"
        assert reduced.imstat.npix > 0
    finally:
        set_default_store(None)
        get_settings.cache_clear()
