"""The data shop: a registered user orders a subset of a dataset; a batch job writes it.

:class:`Shop` is one user's view (their name and groups, as the hub or the settings say):
it lists the datasets they may order from, checks a request completely before anything runs
(access by group, columns, cuts, the number of events against the limits), keeps the order
record, and submits the job. Earlier orders serve as templates (:meth:`Shop.resubmit`).

>>> import tempfile
>>> from wisehub.config import Settings
>>> shop = Shop(Settings(data_dir=tempfile.mkdtemp()), user="ada")
>>> [d.name for d in shop.datasets()]
['samples/hubble.galaxies', 'samples/showers.events']
>>> shop.submit({"dataset": "samples/showers.events", "format": "xls"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
wisehub.publish.shop.errors.ShopError: bad request: format: unsupported format 'xls': ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from wisehub import __version__
from wisehub.batch import (
    BatchLimits,
    BatchSettings,
    LimitError,
    LocalBackend,
    UnknownJobError,
    submit,
)
from wisehub.batch.state import FINISHED, SUCCEEDED
from wisehub.config import Settings, get_settings
from wisehub.lineage.context import Context
from wisehub.lineage.schema import ensure_current
from wisehub.lineage.store import engine_for
from wisehub.publish.datacite import LICENCES, licence_id
from wisehub.publish.records import Records
from wisehub.publish.shop.datasets import Schema, ShopDataset, find_datasets
from wisehub.publish.shop.errors import ShopError, UnknownDatasetError
from wisehub.publish.shop.formats import WRITERS
from wisehub.publish.shop.orders import Order, OrderBook
from wisehub.publish.shop.selection import Selection
from wisehub.publish.shop.settings import ShopSettings

JOB_TARGET = "wisehub.publish.shop.job:fulfil"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ShopBackend(LocalBackend):
    """Batch jobs of shop orders, kept apart from the user's own jobs. A job runs only the
    shop's own function, without the hub credentials of the process that submits it."""

    def job_environment(self) -> dict[str, str]:
        """The submitter's environment minus its JupyterHub token and service identity."""
        return {k: v for k, v in super().job_environment().items()
                if not k.startswith("JUPYTERHUB_")}


class Shop:
    """One user's data shop: datasets, orders and their jobs."""

    def __init__(self, settings: Settings | None = None, shop: ShopSettings | None = None, *,
                 user: str | None = None, groups: Sequence[str] | None = None) -> None:
        self.settings = settings or get_settings()
        self.config = shop or ShopSettings()
        self.context = Context(user or self.settings.user,
                               tuple(self.settings.groups if groups is None else groups))
        self.root = self.config.root(self.settings)
        self.book = OrderBook(self.root, self.context.user)
        batch = BatchSettings(state_dir=self.root / "jobs",
                              limits=BatchLimits(wall_time=self.config.wall_time))
        self.backend = ShopBackend(self.settings, batch, user=self.context.user,
                                   groups=list(self.context.groups))

    # --------------------------------------------------------------- datasets
    def all_datasets(self) -> dict[str, ShopDataset]:
        """Every dataset on offer, readable or not."""
        return find_datasets(self.config.catalog_files(self.settings))

    def datasets(self) -> list[ShopDataset]:
        """The datasets this user may order from."""
        return [d for d in self.all_datasets().values() if d.readable_by(self.context)]

    def dataset(self, name: str) -> ShopDataset:
        """A dataset this user may order from (else why not, as an error)."""
        found = self.all_datasets().get(name)
        if found is None:
            raise UnknownDatasetError(f"no shop dataset {name!r}; the shop offers "
                                      f"{', '.join(d.name for d in self.datasets()) or 'none'}")
        found.check_access(self.context)
        return found

    def schema(self, name: str) -> Schema:
        """The columns of a dataset this user may order from."""
        return self.dataset(name).schema()

    # ----------------------------------------------------------------- orders
    def check(self, request: Mapping[str, Any] | Selection
              ) -> tuple[Selection, ShopDataset, Schema, list[str], int, int]:
        """Check a request completely; return it parsed with what it selects. Nothing runs."""
        selection = request if isinstance(request, Selection) else Selection.parse(request)
        dataset = self.dataset(selection.dataset)
        schema = dataset.schema()
        columns = selection.check(schema)
        events = int(selection.indices(dataset.open()).size)
        if events == 0:
            raise ShopError(f"the selection ({selection.summary()}) selects no events of "
                            f"{dataset.name}; loosen the cuts")
        limit = self.config.max_events_for(self.context.groups)
        if events > limit:
            raise ShopError(f"the selection selects {events} events, over the limit of {limit} "
                            f"per request for user {self.context.user!r} (groups: "
                            f"{', '.join(self.context.groups) or 'none'}); add cuts or a sample")
        size = events * sum(np.dtype(schema.columns[c].dtype).itemsize for c in columns)
        if size > self.config.max_bytes:
            raise ShopError(f"the selection holds {size} bytes, over the limit of "
                            f"{self.config.max_bytes} per request; keep fewer columns or events")
        return selection, dataset, schema, columns, events, size

    def prepare(self, request: Mapping[str, Any] | Selection, *,
                template: str | None = None) -> Order:
        """Check a request and make its order (not yet stored or queued)."""
        selection, dataset, schema, columns, events, size = self.check(request)
        label = _SAFE.sub("-", selection.name or dataset.entry).strip("-") or "selection"
        order = Order.new(self.context.user, selection.model_dump(), events=events, bytes=size,
                          template=template, file=label + WRITERS[selection.format].extension)
        order.source = {"catalog": str(dataset.catalog), "entry": dataset.entry,
                        "table": schema.dimension, "columns": columns,
                        "units": {c: schema.columns[c].unit for c in columns}}
        order.meta = self._provenance(dataset, selection, order)
        return order

    def submit(self, request: Mapping[str, Any] | Selection, *,
               template: str | None = None) -> Order:
        """Check a request, keep its order and queue its job; return the order."""
        order = self.prepare(request, template=template)
        self.book.save(order)
        path = self.book.directory(order.id)
        try:
            job = submit(JOB_TARGET, str(path.with_suffix(".json")), name=f"shop {order.id}",
                         outputs=[str(path / order.file)], wall_time=self.config.wall_time,
                         backend=self.backend)
        except LimitError as err:
            self.book.remove(order.id)
            raise ShopError(f"the order was not queued: {err}") from None
        except BaseException:
            self.book.remove(order.id)
            raise
        order.job = job.id
        return self.book.save(order)

    def resubmit(self, order_id: str, changes: Mapping[str, Any] | None = None) -> Order:
        """Submit an earlier order again, as it was or with ``changes`` (a template)."""
        earlier = Selection.parse(self.book.load(order_id).selection)
        return self.submit(earlier.changed(changes or {}), template=order_id)

    def orders(self) -> list[dict[str, Any]]:
        """This user's orders, oldest first, with their status (see :meth:`view`)."""
        return [self._view(order) for order in self.book.list()]

    def view(self, order_id: str) -> dict[str, Any]:
        """An order with its job's status, progress, message and lineage product."""
        return self._view(self.book.load(order_id))

    def file(self, order_id: str) -> Path:
        """The output file of a finished order, or :class:`ShopError` while it is not."""
        view = self.view(order_id)
        if view["status"] != SUCCEEDED:
            raise ShopError(f"order {order_id} is {view['status']}, so it has no file yet"
                            + (f": {view['message']}" if view["message"] else ""))
        return self.book.directory(order_id) / view["file"]

    def _view(self, order: Order) -> dict[str, Any]:
        try:
            record = self.backend.record(order.job) if order.job else None
        except UnknownJobError:  # the job's state outlived its retention; the order stays
            record = None
        if record is not None:
            status, message, products = record.status, record.message, record.products
        elif (self.book.directory(order.id) / order.file).is_file():
            status, message, products = SUCCEEDED, "its batch job has expired", []
        else:
            status, message, products = "expired", "its batch job has expired", []
        data = asdict(order)
        data.pop("source")
        return {**data, "summary": Selection.parse(order.selection).summary(),
                "status": status, "finished": status in (*FINISHED, "expired"),
                "progress": self.book.progress(order.id), "message": message,
                "products": products}

    def _provenance(self, dataset: ShopDataset, selection: Selection,
                    order: Order) -> dict[str, str]:
        engine = engine_for(str(self.settings.lineage_db_url))
        ensure_current(engine, auto_upgrade=True)
        records = Records(engine, None)
        record = records.dataset_record(dataset.catalog.stem, dataset.entry, dataset.meta)
        doc = record.datacite
        licence = licence_id(dataset.meta.get("licence"))
        identifier = f"https://doi.org/{doc['doi']}" if "doi" in doc else f"urn:uuid:{record.pid}"
        creators = "; ".join(c["name"] for c in doc["creators"])
        return {
            "title": dataset.title, "dataset": dataset.name, "record": identifier,
            "licence": licence, "licence_url": LICENCES[licence][1], "creator": creators,
            "publisher": doc["publisher"]["name"],
            "citation": f"{creators} ({doc['publicationYear']}): {dataset.title}. "
                        f"{doc['publisher']['name']}. {identifier}",
            "selection": selection.model_dump_json(), "order": order.id,
            "user": self.context.user, "software": f"wisehub {__version__}",
            "source": f"{dataset.catalog.name}#{dataset.entry}",
        }


def shop_for(user: str, groups: Sequence[str]) -> Shop:
    """The shop of a user the hub identified (the service's settings from the environment)."""
    return Shop(get_settings(), ShopSettings(), user=user, groups=groups)


