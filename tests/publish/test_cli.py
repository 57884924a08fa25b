"""``wisehub publish …`` end to end in the user's context from settings (SQLite, temp dir)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from astropy.io import fits as afits
from astropy.io.votable import parse_single_table
from datacite import schema45
from typer.testing import CliRunner
from wisehub.cli import app
from wisehub.config import load_settings
from wisehub.lineage import Context, LineageStore
from wisehub.lineage.store import set_default_store
from wisehub.storage import StoredObject


@pytest.fixture
def store(tmp_path: Path) -> LineageStore:
    settings = load_settings(data_dir=tmp_path)
    store = LineageStore(str(settings.lineage_db_url), Context("ada"))
    set_default_store(store)
    yield store
    set_default_store(None)


def test_promote_record_and_export(store: LineageStore, tmp_path: Path) -> None:
    table = xr.Dataset({"energy_ev": ("event", np.array([1e15, 3e15]))})
    table.to_zarr(tmp_path / "events.zarr")
    product = store.register("EventTable", name="events", meta={"licence": "CC0-1.0"},
                             data=StoredObject(str(tmp_path / "events.zarr"), "sha256:x", 1))
    runner = CliRunner()
    promoted = runner.invoke(app, ["publish", "promote", product.pid, "world",
                                   "--collection", "showers"])
    assert promoted.exit_code == 0, promoted.output
    assert schema45.validate(json.loads(promoted.output))
    xml = runner.invoke(app, ["publish", "record", product.pid, "--xml"])
    assert xml.exit_code == 0 and "<rightsList>" in xml.output
    out = tmp_path / "events.xml"
    assert runner.invoke(app, ["publish", "votable", product.pid, str(out)]).exit_code == 0
    np.testing.assert_array_equal(parse_single_table(out).to_table()["energy_ev"],
                                  [1e15, 3e15])
    fits_out = tmp_path / "events.fits"
    assert runner.invoke(app, ["publish", "fits", product.pid, str(fits_out)]).exit_code == 0
    with afits.open(fits_out) as hdus:
        assert hdus[1].header["WHPID"] == product.pid
    again = runner.invoke(app, ["publish", "fits", product.pid, str(fits_out)])
    assert again.exit_code != 0 and "exists" in str(again.exception)


def test_shop_commands_list_and_refuse_bad_orders(sample_set, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``wisehub publish shop``: datasets, columns, an order refused at submit (nothing
    queued), an empty order list. The local shop: no hub token in the environment."""
    from wisehub.config import get_settings
    from wisehub.publish.shop.errors import ShopError

    monkeypatch.setenv("WISEHUB_SHOP__STATE_DIR", str(tmp_path / "shop"))
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    listed = runner.invoke(app, ["publish", "shop", "datasets"])
    assert listed.exit_code == 0, listed.output
    assert "samples/showers.events" in listed.output
    columns = runner.invoke(app, ["publish", "shop", "columns", "samples/showers.events"])
    assert "energy_ev" in columns.output and "eV" in columns.output
    bad = runner.invoke(app, ["publish", "shop", "order", "samples/showers.events",
                              "--cut", "zenith_deg:40:10", "--format", "root"])
    assert isinstance(bad.exception, ShopError) and "impossible cut" in str(bad.exception)
    malformed = runner.invoke(app, ["publish", "shop", "order", "samples/showers.events",
                                    "--cut", "zenith_deg<30"])
    assert malformed.exit_code == 2 and "COLUMN:MIN:MAX" in malformed.output
    empty = runner.invoke(app, ["publish", "shop", "list"])
    assert empty.exit_code == 0 and empty.output == ""
    assert not (tmp_path / "shop" / "jobs").exists()
