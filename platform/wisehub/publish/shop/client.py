"""``wh.publish.shop``: the data shop from Python, the same inside and outside a hub.

Under a hub (``WISEHUB_SHOP_URL``, or the hub's URL, and the server's
``JUPYTERHUB_API_TOKEN``) every call goes to the shop's REST API in the ``publish`` service,
which knows who you are and which groups you are in. Without a hub the shop runs here, as
the user of the settings, with the same checks.

>>> import wisehub as wh
>>> callable(wh.publish.shop.order)
True

With the shower sample published (the data-shop tutorial does this)::

    order = wh.publish.shop.order("samples/showers.events", format="hdf5",
                                  cuts={"energy_ev": {"min": 4e15}})
    path = wh.publish.shop.download(wh.publish.shop.wait(order["id"])["id"])
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from wisehub.config import get_settings
from wisehub.publish.registration import SHOP_URL_ENV
from wisehub.publish.shop.errors import (
    ShopAccessError,
    ShopError,
    UnknownDatasetError,
    UnknownOrderError,
)

_ERRORS = {403: ShopAccessError, 404: UnknownOrderError}


class ShopClient(Protocol):
    """What both ways of reaching the shop offer."""

    def get(self, path: str) -> Any: ...
    def post(self, path: str, body: Mapping[str, Any]) -> Any: ...
    def fetch(self, order_id: str, target: Path) -> Path: ...


class LocalClient:
    """The shop run in this process, as the settings' user."""

    def __init__(self) -> None:
        from wisehub.publish.shop.shop import Shop

        self.shop = Shop()

    def get(self, path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts == ["datasets"]:
            return {"datasets": [d.describe() for d in self.shop.datasets()]}
        if parts[0] == "datasets":
            dataset = self.shop.dataset("/".join(parts[1:]))
            return {**dataset.describe(), **dataset.schema().to_dict()}
        if parts == ["orders"]:
            return {"orders": self.shop.orders()}
        return self.shop.view(parts[1])

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        parts = path.strip("/").split("/")
        order = (self.shop.resubmit(parts[1], body) if parts[-1] == "resubmit"
                 else self.shop.submit(body))
        return self.shop.view(order.id)

    def fetch(self, order_id: str, target: Path) -> Path:
        shutil.copyfile(self.shop.file(order_id), target)
        return target


class HubShopClient:
    """The shop's REST API in the hub's ``publish`` service, with a hub token."""

    def __init__(self, url: str, token: str) -> None:
        import requests

        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def _check(self, reply: Any) -> Any:
        if reply.status_code >= 400:
            try:
                message = reply.json()["message"]
            except ValueError:
                message = reply.text[:300]
            raise _ERRORS.get(reply.status_code, ShopError)(message)
        return reply

    def get(self, path: str) -> Any:
        return self._check(self.session.get(self.url + path, timeout=120)).json()

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._check(self.session.post(self.url + path, json=dict(body),
                                             timeout=120)).json()

    def fetch(self, order_id: str, target: Path) -> Path:
        reply = self._check(self.session.get(f"{self.url}/orders/{order_id}/file",
                                             timeout=300, stream=True))
        with target.open("wb") as out:
            for chunk in reply.iter_content(1 << 20):
                out.write(chunk)
        return target


def client() -> ShopClient:
    """The hub's shop when running under a hub, else a local one."""
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    url = os.environ.get(SHOP_URL_ENV)
    hub_url = get_settings().hub_url
    if token and (url or hub_url):
        return HubShopClient(url or f"{hub_url.rstrip('/')}/services/publish/shop/api", token)
    return LocalClient()


def datasets(shop: ShopClient | None = None) -> list[dict[str, Any]]:
    """The datasets you may order from (name, title, licence, access)."""
    return (shop or client()).get("/datasets")["datasets"]


def columns(dataset: str, shop: ShopClient | None = None) -> list[dict[str, Any]]:
    """A dataset's columns: name, type, unit, smallest and largest value."""
    try:
        return (shop or client()).get(f"/datasets/{dataset}")["columns"]
    except UnknownOrderError as err:
        raise UnknownDatasetError(str(err)) from None


def order(dataset: str, *, cuts: Mapping[str, Mapping[str, Any]] | None = None,
          columns: Sequence[str] = (), sample: int | None = None, seed: int = 0,
          format: str = "hdf5", name: str = "", shop: ShopClient | None = None
          ) -> dict[str, Any]:
    """Order a subset of ``dataset``; return the order (``id``, ``events``, ``status``...).

    Parameters
    ----------
    dataset
        A shop dataset, e.g. ``"samples/showers.events"`` (see :func:`datasets`).
    cuts
        ``{column: {"min": lo, "max": hi}}``; either bound may be left out; times may be
        ISO 8601 strings.
    columns
        The columns to keep (all when empty).
    sample, seed
        Keep a random subsample of ``sample`` events.
    format
        ``hdf5``, ``root``, ``ecsv``, ``csv`` or ``fits``.

    Raises
    ------
    ShopError
        The request is bad (unknown column, impossible cut, empty, over the limit);
        :class:`ShopAccessError` if your groups may not read the dataset. Nothing is queued.
    """
    body = {"dataset": dataset, "cuts": dict(cuts or {}), "columns": list(columns),
            "sample": sample, "seed": seed, "format": format, "name": name}
    return (shop or client()).post("/orders", body)


def orders(shop: ShopClient | None = None) -> list[dict[str, Any]]:
    """Your orders, oldest first, with their status: each can be a template."""
    return (shop or client()).get("/orders")["orders"]


def resubmit(order_id: str, shop: ShopClient | None = None, **changes: Any) -> dict[str, Any]:
    """Order an earlier order again, changed by ``changes`` (``cuts`` merge per column)."""
    return (shop or client()).post(f"/orders/{order_id}/resubmit", changes)


def wait(order_id: str, timeout: float = 900.0, poll: float = 1.0,
         shop: ShopClient | None = None) -> dict[str, Any]:
    """Wait until the order's job has finished; return the order, or raise if it failed."""
    shop = shop or client()
    deadline = time.monotonic() + timeout
    while not (view := shop.get(f"/orders/{order_id}"))["finished"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"order {order_id} is still {view['status']} after "
                               f"{timeout:g} s")
        time.sleep(poll)
    if view["status"] != "succeeded":
        raise ShopError(f"order {order_id} {view['status']}: {view['message']}")
    return view


def download(order_id: str, target: str | os.PathLike[str] | None = None,
             shop: ShopClient | None = None) -> Path:
    """Save a finished order's file (default: its own name in the current folder)."""
    shop = shop or client()
    path = Path(target) if target is not None else Path(shop.get(f"/orders/{order_id}")["file"])
    return shop.fetch(order_id, path)
