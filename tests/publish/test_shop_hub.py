"""The data shop through the hub: users the hub identified order through the REST API of the
``publish`` service, real batch jobs write the files, groups decide access, earlier orders
serve as templates, and bad requests answer 400 with nothing queued.

Starts: the session hub with the publish service (tests/publish/conftest.py); two shop batch
jobs (local backend, each with its own Dask cluster).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import requests
import uproot
import xarray as xr
from wisehub.hub.launcher import RunningHub
from wisehub.publish.shop import client as shop_client
from wisehub.publish.shop.errors import ShopAccessError, ShopError
from wisehub.samples import SampleSet

pytestmark = pytest.mark.hub

GROUP_DATASET = "lab/showers.private"


def _token(hub: RunningHub, user: str) -> str:
    """A token of ``user`` with the user's own permissions (role ``user``)."""
    assert hub.api("POST", f"/users/{user}").status_code in (201, 409)
    reply = hub.api("POST", f"/users/{user}/tokens", json={"expires_in": 3600})
    assert reply.status_code == 201, reply.text
    return reply.json()["token"]


@pytest.fixture(scope="module")
def api(publish_hub: RunningHub) -> str:
    return f"{publish_hub.url}services/publish/shop/api"


@pytest.fixture(scope="module")
def alice(publish_hub: RunningHub, api: str, shop_group_catalog: Path
          ) -> shop_client.HubShopClient:
    """alice, a member of group lab (demo users), through the Python client wh.publish.shop
    uses under a hub."""
    return shop_client.HubShopClient(api, _token(publish_hub, "alice"))


@pytest.fixture(scope="module")
def pupil(publish_hub: RunningHub, api: str, shop_group_catalog: Path
          ) -> shop_client.HubShopClient:
    """pupil1, in group astro101 only."""
    return shop_client.HubShopClient(api, _token(publish_hub, "pupil1"))


def test_groups_decide_who_may_order(alice, pupil, api: str) -> None:
    assert GROUP_DATASET in {d["name"] for d in shop_client.datasets(shop=alice)}
    names = {d["name"] for d in shop_client.datasets(shop=pupil)}
    assert "samples/showers.events" in names and GROUP_DATASET not in names
    with pytest.raises(ShopAccessError, match="members of group 'lab' only"):
        shop_client.order(GROUP_DATASET, sample=5, shop=pupil)
    assert shop_client.orders(shop=pupil) == []
    anonymous = requests.get(f"{api}/datasets", timeout=30)
    assert anonymous.status_code == 403
    assert GROUP_DATASET not in anonymous.text


@pytest.mark.parametrize(("body", "message"), [
    ({"cuts": {"energy_tev": {"min": 1}}}, "unknown column(s) energy_tev"),
    ({"cuts": {"zenith_deg": {"min": 30, "max": 10}}}, "impossible cut"),
    ({"columns": ["colour"]}, "unknown column(s) colour"),
])
def test_bad_requests_answer_400_and_queue_nothing(alice, api: str, body: dict,
                                                   message: str) -> None:
    before = shop_client.orders(shop=alice)
    reply = alice.session.post(f"{api}/orders", json={"dataset": GROUP_DATASET, **body},
                               timeout=60)
    assert reply.status_code == 400
    assert message in reply.json()["message"]
    assert shop_client.orders(shop=alice) == before


def test_order_download_and_reorder_from_a_template(alice, sample_set: SampleSet,
                                                    tmp_path: Path) -> None:
    events = xr.open_zarr(sample_set.stores["showers"]).compute()
    cuts = {"energy_ev": {"min": 3e15}, "core_x_m": {"min": -50, "max": 50}}
    made = shop_client.order(GROUP_DATASET, cuts=cuts, format="hdf5", name="knee",
                             columns=["energy_ev", "core_x_m", "shower_size"], shop=alice)
    assert made["status"] in ("queued", "running") and made["events"] > 0
    done = shop_client.wait(made["id"], timeout=600, shop=alice)
    assert done["progress"] == {"stage": "done", "fraction": 1.0} and done["products"]
    path = shop_client.download(made["id"], tmp_path / "knee.h5", shop=alice)
    keep = ((events.energy_ev >= 3e15) & (abs(events.core_x_m) <= 50)).values
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["event/energy_ev"][:], events.energy_ev.values[keep])
        assert sorted(f["event"]) == ["core_x_m", "energy_ev", "shower_size"]
        assert f.attrs["licence"] == "CC-BY-4.0" and f.attrs["user"] == "alice"
        assert f.attrs["dataset"] == GROUP_DATASET

    # The earlier order as a template: a narrower energy cut, written as ROOT.
    again = shop_client.resubmit(made["id"], cuts={"energy_ev": {"min": 1e16}}, format="root",
                                 shop=alice)
    assert again["template"] == made["id"] and again["events"] < made["events"]
    shop_client.wait(again["id"], timeout=600, shop=alice)
    root = shop_client.download(again["id"], tmp_path / "knee.root", shop=alice)
    keep = ((events.energy_ev >= 1e16) & (abs(events.core_x_m) <= 50)).values
    with uproot.open(root) as f:
        np.testing.assert_array_equal(f["event"]["energy_ev"].array(library="np"),
                                      events.energy_ev.values[keep])
        assert json.loads(str(f["provenance"]))["order"] == again["id"]
    assert [o["id"] for o in shop_client.orders(shop=alice)][-2:] == [made["id"], again["id"]]
    with pytest.raises(ShopError, match="no order"):
        shop_client.download("20260101T000000-00000000", tmp_path / "x", shop=alice)
