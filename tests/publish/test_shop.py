"""The data shop without a hub: every output format read back by its own library with
exactly the selected events and the provenance inside; bad requests refused with a clear
message and nothing stored or queued; access decided by groups; templates.

The job function runs in-process here (tests/publish/test_shop_hub.py runs real batch jobs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.config import Settings
from wisehub.publish.shop.errors import ShopAccessError, ShopError, UnknownDatasetError
from wisehub.publish.shop.job import fulfil
from wisehub.publish.shop.selection import Selection
from wisehub.publish.shop.settings import ShopSettings
from wisehub.publish.shop.shop import Shop
from wisehub.samples import SampleSet

DATASET = "samples/showers.events"
KNEE = {"dataset": DATASET, "cuts": {"energy_ev": {"min": 4e15}, "zenith_deg": {"max": 30},
                                     "time_unix": {"min": "2020-03-01T00:00:00"}},
        "columns": ["energy_ev", "zenith_deg", "muon_number"]}


@pytest.fixture
def shop(sample_set: SampleSet, tmp_path: Path) -> Shop:
    """A shop of its own (orders under tmp_path) over the session's samples."""
    return Shop(Settings(), ShopSettings(state_dir=tmp_path / "shop"), user="ada",
                groups=["astro101"])


def _expected(sample_set: SampleSet) -> dict[str, np.ndarray]:
    """The reference: the same cuts, applied directly to the Zarr store with numpy."""
    events = xr.open_zarr(sample_set.stores["showers"]).compute()
    keep = ((events.energy_ev >= 4e15) & (events.zenith_deg <= 30)
            & (events.time_unix >= 1583020800)).values  # 2020-03-01 UTC
    return {c: events[c].values[keep] for c in KNEE["columns"]}


def _read(path: Path, fmt: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Columns and metadata, read back by each format's own library."""
    if fmt == "hdf5":
        import h5py

        with h5py.File(path) as f:
            return ({k: f["event"][k][:] for k in f["event"]},
                    {k: str(v) for k, v in f.attrs.items()})
    if fmt == "root":
        import uproot

        with uproot.open(path) as f:
            return f["event"].arrays(library="np"), json.loads(str(f["provenance"]))
    if fmt == "csv":
        import pandas as pd

        meta = dict(line[2:].rstrip("\n").split(": ", 1) for line in path.open()
                    if line.startswith("# "))
        table = pd.read_csv(path, comment="#")
        return {c: table[c].to_numpy() for c in table.columns}, meta
    if fmt == "parquet":
        import pandas as pd
        import pyarrow.parquet as pq

        table = pd.read_parquet(path)
        meta = {k.decode(): v.decode() for k, v in pq.read_schema(path).metadata.items()}
        return {c: table[c].to_numpy() for c in table.columns}, meta
    from astropy.table import Table

    if fmt == "fits":
        from astropy.io import fits

        with fits.open(path) as hdus:
            header = hdus["EVENT"].header
            meta = {"licence": header["LICENSE"], "record": header["RECORD"],
                    "citation": header["CITATION"], "selection": header["SELECT"],
                    "events": str(header["NEVENTS"])}
        table = Table.read(path, hdu="EVENT")
        return {c: np.asarray(table[c]) for c in table.colnames}, meta
    table = Table.read(path, format="ascii.ecsv")
    return {c: np.asarray(table[c]) for c in table.colnames}, dict(table.meta)


def _units(path: Path, fmt: str) -> dict[str, str]:
    """Each column's unit, as that format's own library reads it (columns without one left out)."""
    if fmt == "hdf5":
        import h5py

        with h5py.File(path) as f:
            found = {k: f["event"][k].attrs.get("unit", "") for k in f["event"]}
    elif fmt == "root":
        import uproot

        with uproot.open(path) as f:
            found = json.loads(str(f["provenance"]))["units"]
    elif fmt == "csv":
        found = {line[7:].split(": ")[0]: line.rstrip("\n").split(": ", 1)[1]
                 for line in path.open() if line.startswith("# unit ")}
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        found = {f.name: (f.metadata or {}).get(b"unit", b"").decode()
                 for f in pq.read_schema(path)}
    else:
        from astropy.table import Table

        table = Table.read(path, hdu="EVENT") if fmt == "fits" else Table.read(
            path, format="ascii.ecsv")
        found = {c: str(table[c].unit or "") for c in table.colnames}
    return {name: str(unit) for name, unit in found.items() if unit}


@pytest.mark.parametrize("fmt", ["hdf5", "root", "ecsv", "csv", "fits", "parquet"])
def test_output_holds_exactly_the_selection_and_its_provenance(shop: Shop, fmt: str,
                                                               sample_set: SampleSet) -> None:
    order = shop.book.save(shop.prepare({**KNEE, "format": fmt, "name": "knee"}))
    done = fulfil(str(shop.book.directory(order.id).with_suffix(".json")))
    expected = _expected(sample_set)
    assert done["events"] == order.events == expected["energy_ev"].size > 0
    columns, meta = _read(shop.book.directory(order.id) / done["file"], fmt)
    assert sorted(columns) == sorted(KNEE["columns"])
    for name, values in expected.items():
        np.testing.assert_array_equal(columns[name], values)
    assert meta["licence"] == "CC0-1.0"
    assert meta["record"].startswith("urn:uuid:")
    assert "KASCADE-like air-shower events" in meta["citation"]
    assert meta["record"] in meta["citation"]
    assert json.loads(meta["selection"])["cuts"]["zenith_deg"]["max"] == 30
    assert int(meta["events"]) == expected["energy_ev"].size
    assert _units(shop.book.directory(order.id) / done["file"], fmt) == {
        "energy_ev": "eV", "zenith_deg": "deg"}


BAD = {
    "unknown cut column": ({"cuts": {"energy_tev": {"min": 1}}}, "unknown column(s) energy_tev"),
    "unknown kept column": ({"columns": ["energy_ev", "colour"]}, "unknown column(s) colour"),
    "impossible cut": ({"cuts": {"zenith_deg": {"min": 30, "max": 10}}}, "impossible cut"),
    "cut without bounds": ({"cuts": {"zenith_deg": {}}}, "needs a min, a max or both"),
    "bad time": ({"cuts": {"time_unix": {"min": "yesterday"}}}, "neither a number nor"),
    "unsupported format": ({"format": "xlsx"}, "unsupported format 'xlsx'"),
    "empty selection": ({"cuts": {"zenith_deg": {"min": 60}}}, "selects no events"),
    "unknown field": ({"colums": ["energy_ev"]}, "colums: Extra inputs are not permitted"),
    "over the limit": ({"sample": 200}, "over the limit of 100 per request"),
}


@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_bad_requests_are_refused_and_nothing_is_queued(sample_set: SampleSet, tmp_path: Path,
                                                        change: tuple[dict, str]) -> None:
    shop = Shop(Settings(), ShopSettings(state_dir=tmp_path, max_events=100), user="ada")
    body, message = change
    with pytest.raises(ShopError, match="^(bad request: )?") as err:
        shop.submit({"dataset": DATASET, **body})
    assert message in str(err.value)
    assert err.value.status == 400
    assert shop.book.list() == [] and shop.backend.records() == []


def test_unknown_dataset_names_what_is_on_offer(shop: Shop) -> None:
    with pytest.raises(UnknownDatasetError, match="samples/showers.events") as err:
        shop.submit({"dataset": "samples/nope"})
    assert err.value.status == 404


def test_groups_decide_access(sample_set: SampleSet, tmp_path: Path, group_catalog) -> None:
    catalog = group_catalog(tmp_path / "lab.yaml", sample_set.stores["showers"])
    config = ShopSettings(state_dir=tmp_path / "shop", catalogs=[catalog])
    member = Shop(Settings(), config, user="alice", groups=["lab"])
    outsider = Shop(Settings(), config, user="pupil1", groups=["astro101"])
    assert [d.name for d in member.datasets()] == ["lab/showers.private"]
    assert outsider.datasets() == []
    selection, *_ = member.check({"dataset": "lab/showers.private", "sample": 10})
    assert selection.sample == 10
    with pytest.raises(ShopAccessError, match="members of group 'lab' only") as err:
        outsider.submit({"dataset": "lab/showers.private", "sample": 10})
    assert "pupil1" in str(err.value) and err.value.status == 403
    assert outsider.book.list() == []


def test_group_limits_raise_the_event_limit(sample_set: SampleSet, tmp_path: Path) -> None:
    config = ShopSettings(state_dir=tmp_path, max_events=10, group_max_events={"lab": 50})
    assert Shop(Settings(), config, user="alice", groups=["lab"]).check(
        {"dataset": DATASET, "sample": 50})[4] == 50
    with pytest.raises(ShopError, match="over the limit of 10"):
        Shop(Settings(), config, user="bob", groups=[]).check({"dataset": DATASET, "sample": 50})


def test_a_template_changes_only_what_is_asked() -> None:
    earlier = Selection.parse({**KNEE, "format": "hdf5", "sample": 5})
    later = earlier.changed({"cuts": {"zenith_deg": None, "energy_ev": {"max": 1e16}},
                             "format": "root"})
    assert later.format == "root" and later.sample == 5 and later.columns == KNEE["columns"]
    assert sorted(later.cuts) == ["energy_ev", "time_unix"]
    assert later.cuts["energy_ev"].max == 1e16 and later.cuts["energy_ev"].min is None
    assert earlier.cuts["zenith_deg"].max == 30  # the template itself is unchanged


def test_the_notebook_form_orders_or_says_why_not(sample_set: SampleSet, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The ipywidgets form, clicked, on the local shop: a refusal shows the reason and
    queues nothing; a good order is queued as the form says (its job is then cancelled)."""
    from wisehub.config import get_settings
    from wisehub.publish.shop.client import LocalClient
    from wisehub.publish.shop.form import ShopForm

    monkeypatch.setenv("WISEHUB_SHOP__STATE_DIR", str(tmp_path / "shop"))
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    get_settings.cache_clear()
    local = LocalClient()
    form = ShopForm(DATASET, shop=local)
    low, high = form.rows["zenith_deg"][1:]
    low.value, high.value = "30", "10"
    form.button.click()
    assert "impossible cut" in form.status.value and form.last_order is None
    assert local.shop.book.list() == []
    low.value, high.value = "", "20"
    form.rows["energy_ev"][1].value = "4e15"
    for name in ("azimuth_deg", "core_x_m", "core_y_m"):
        form.rows[name][0].value = False
    form.format.value = "ecsv"
    form.button.click()
    made = form.last_order
    try:
        assert made is not None and made["id"] in form.status.value
        assert made["selection"]["format"] == "ecsv"
        assert made["selection"]["cuts"] == {"energy_ev": {"min": 4e15, "max": None},
                                             "zenith_deg": {"min": None, "max": 20.0}}
        assert "core_x_m" not in made["selection"]["columns"]
        assert [o["id"] for o in local.get("/orders")["orders"]] == [made["id"]]
    finally:
        if made:
            local.shop.backend.cancel(made["job"])


def test_orders_outlive_their_batch_jobs(shop: Shop) -> None:
    """Batch state is removed after its retention; the order (a template) stays listed."""
    order = shop.book.save(shop.prepare({**KNEE, "format": "csv"}))
    order.job = "20200101T000000-0badc0de"  # a job whose state is gone
    shop.book.save(order)
    [view] = shop.orders()
    assert view["status"] == "expired" and view["finished"]
    fulfil(str(shop.book.directory(order.id).with_suffix(".json")))
    assert shop.view(order.id)["status"] == "succeeded"
    assert shop.file(order.id).name == order.file


def test_servers_reach_the_shop_through_the_hub(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub's user servers get the shop's URL, and their token may reach the publish
    service, so wh.publish.shop there asks the hub's shop (which knows the user's groups)."""
    from traitlets.config import Config
    from wisehub.config import get_settings, load_settings
    from wisehub.hub.configuration import configure
    from wisehub.publish.shop import client as shop_client

    c = Config()
    configure(c, load_settings(data_dir=tmp_path, hub={"demo_password": "demo-1234"}))
    url = c.Spawner.environment["WISEHUB_SHOP_URL"]
    publish = next(s for s in c.JupyterHub.services if s["name"] == "publish")
    assert url == f"{publish['url']}/services/publish/shop/api" and "command" not in publish
    assert "access:services!service=publish" in c.Spawner.server_token_scopes
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert "access:services!service=publish" in user_role["scopes"]
    monkeypatch.setenv("WISEHUB_SHOP_URL", url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")
    get_settings.cache_clear()
    chosen = shop_client.client()
    assert isinstance(chosen, shop_client.HubShopClient) and chosen.url == url
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    assert isinstance(shop_client.client(), shop_client.LocalClient)
