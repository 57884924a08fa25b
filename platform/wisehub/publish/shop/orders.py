"""Order records: every request a user made, kept as JSON so it can serve as a template.

``<shop root>/orders/<user>/<order id>.json`` holds the order (its selection, the number of
events it selects, the dataset's record, its batch job); ``<order id>/`` next to it holds the
output file and the job's progress. Files are written atomically and the user's folder is
private (0700); order ids are checked, never used as paths unchecked.

>>> import tempfile
>>> book = OrderBook(Path(tempfile.mkdtemp()), "ada")
>>> order = book.save(Order.new("ada", {"dataset": "samples/showers.events"}, events=5))
>>> [o.id for o in book.list()] == [order.id], book.load(order.id).events
(True, 5)
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wisehub.batch.state import USER, write_json
from wisehub.publish.shop.errors import UnknownOrderError

ORDER_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
PROGRESS = "progress.json"


@dataclass
class Order:
    """One shop request as submitted."""

    id: str
    user: str
    selection: dict[str, Any]
    events: int = 0
    bytes: int = 0
    created_at: str = ""
    template: str | None = None
    job: str | None = None
    file: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    """Where the job reads: ``catalog`` file, ``entry``, ``table``, ``columns``, ``units``."""
    meta: dict[str, str] = field(default_factory=dict)
    """Provenance, licence and citation, written into the output file."""

    @classmethod
    def new(cls, user: str, selection: dict[str, Any], **values: Any) -> Order:
        """An order with a fresh id (its time plus random hex)."""
        when = datetime.now(UTC)
        return cls(id=f"{when:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}", user=user,
                   selection=selection, created_at=when.isoformat(timespec="seconds"),
                   **values)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        """An order from its JSON (unknown keys from newer versions ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class OrderBook:
    """One user's orders under the shop's root."""

    def __init__(self, root: Path, user: str) -> None:
        if not USER.match(user):
            raise ValueError(f"invalid user name {user!r}")
        self.user = user
        self.base = Path(root) / "orders" / user

    def _path(self, order_id: str) -> Path:
        if not isinstance(order_id, str) or not ORDER_ID.match(order_id):
            raise UnknownOrderError(f"no order {order_id!r}: order ids look like "
                                    "20260101T120000-0a1b2c3d")
        return self.base / f"{order_id}.json"

    def directory(self, order_id: str) -> Path:
        """The folder of the order's output and progress."""
        return self._path(order_id).with_suffix("")

    def save(self, order: Order) -> Order:
        """Store (or replace) an order."""
        if order.user != self.user:
            raise PermissionError(f"user {self.user!r} cannot store an order of {order.user!r}")
        self.base.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory(order.id).mkdir(mode=0o700, exist_ok=True)
        write_json(self._path(order.id), asdict(order))
        return order

    def load(self, order_id: str) -> Order:
        """One of the user's orders, or :class:`UnknownOrderError`."""
        path = self._path(order_id)
        if not path.is_file():
            raise UnknownOrderError(f"no order {order_id} for user {self.user!r}")
        return Order.from_dict(json.loads(path.read_text()))

    def remove(self, order_id: str) -> None:
        """Forget an order that never ran (its submission failed)."""
        directory = self.directory(order_id)
        for child in directory.glob("*") if directory.is_dir() else ():
            child.unlink()
        if directory.is_dir():
            directory.rmdir()
        self._path(order_id).unlink(missing_ok=True)

    def list(self) -> list[Order]:
        """The user's orders, oldest first."""
        if not self.base.is_dir():
            return []
        return [self.load(p.stem) for p in sorted(self.base.glob("*.json"))
                if ORDER_ID.match(p.stem)]

    def progress(self, order_id: str) -> dict[str, Any]:
        """What the order's job last reported (stage and fraction done), if anything."""
        path = self.directory(order_id) / PROGRESS
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}


def report_progress(directory: Path, stage: str, fraction: float) -> None:
    """Called by the job: record its stage and the fraction done."""
    write_json(directory / PROGRESS, {"stage": stage, "fraction": round(fraction, 3)})
