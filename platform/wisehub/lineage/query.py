"""Pythonic product queries: ``(Frame.chip == "ccd51") & (Frame.filter == "r")``, then iterate.

A condition names a product column (``name``, ``owner``, ``is_valid``, ``quality_flags``,
``valid_from``, ``valid_to``, ``created_at``) or a searchable attribute (``night``, ``chip``,
…). Queries run in a store's context, so they only ever see readable products.

>>> q = (Field("Frame", "chip") == "ccd51") & (Field("Frame", "exptime") > 10)
>>> q
Query('Frame', chip == 'ccd51', exptime > 10)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import aliased

from wisehub.lineage.models import Attribute, Product

if TYPE_CHECKING:
    from wisehub.lineage.product import ProductView
    from wisehub.lineage.store import LineageStore

COLUMNS = {"pid", "name", "owner", "type", "is_valid", "quality_flags", "valid_from",
           "valid_to", "created_at", "privilege", "code_version"}
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def attr_key(name: str) -> str:
    """The stored form of an attribute name (FITS keywords become identifiers).

    >>> attr_key("MJD-OBS")
    'mjd_obs'
    """
    return name.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class Condition:
    """``key op value``; ``op`` is a comparison, ``in`` or ``like``."""

    key: str
    op: str
    value: Any

    def __repr__(self) -> str:
        return f"{self.key} {self.op} {self.value!r}"

    def clause(self) -> Any:
        """The SQL condition on ``products`` (an indexed EXISTS for attributes)."""
        if self.key in COLUMNS:
            return _compare(getattr(Product, self.key), self.op, self.value)
        return exists().where(Attribute.product_seq == Product.seq, self.on(Attribute))

    def on(self, table: Any) -> Any:
        """The condition on one row of ``product_attrs`` (or an alias of it)."""
        sample = self.value[0] if self.op == "in" and self.value else self.value
        numeric = isinstance(sample, (int, float)) and not isinstance(sample, bool)
        column = table.value_num if numeric else table.value_str
        value = self.value if numeric or self.op == "like" else _as_text(self.value)
        return and_(table.key == self.key, _compare(column, self.op, value))


def _as_text(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)


def _compare(column: Any, op: str, value: Any) -> Any:
    if op == "in":
        return column.in_(list(value))
    if op == "like":
        return column.like(value)
    return _OPS[op](column, value)


def conditions_from(**equal: Any) -> tuple[Condition, ...]:
    """Equality conditions from keywords; list values become ``in``.

    >>> conditions_from(chip="ccd51", night=["a", "b"])
    (chip == 'ccd51', night in ['a', 'b'])
    """
    return tuple(Condition(attr_key(k), "in", list(v)) if isinstance(v, (list, tuple, set))
                 else Condition(attr_key(k), "==", v) for k, v in equal.items())


_DRIVER = aliased(Attribute, name="driver")  # one per statement; made once, it is costly


def statement(type_name: str | None, conditions: tuple[Condition, ...], *,
              drive: bool = True) -> Select[Any]:
    """A SELECT of products of a type meeting all conditions, newest first (not yet scoped).

    The first equality condition on an attribute drives the query through its index (put
    the most selective first, e.g. the night); the others are index probes per candidate.
    So a lookup costs what it finds, not the size of the archive. ``drive=False`` leaves the
    choice to the caller's own indexed condition (e.g. a validity window).
    """
    stmt = select(Product)
    rest = list(conditions)
    driver = next((c for c in rest if c.key not in COLUMNS and c.op in ("==", "in")), None) \
        if drive else None
    if driver is not None:
        rest.remove(driver)
        stmt = stmt.join(_DRIVER, and_(_DRIVER.product_seq == Product.seq, driver.on(_DRIVER)))
    if type_name is not None:
        stmt = stmt.where(Product.type == type_name)
    if rest:
        stmt = stmt.where(and_(*(c.clause() for c in rest)))
    return stmt.order_by(Product.seq.desc())


class Field:
    """A class-level attribute in a query: ``Frame.chip == "ccd51"`` gives a :class:`Query`."""

    def __init__(self, type_name: str, key: str) -> None:
        self.type_name = type_name
        self.key = attr_key(key)

    def _q(self, op: str, value: Any) -> Query:
        return Query(self.type_name, (Condition(self.key, op, value),))

    def __eq__(self, value: Any) -> Query:  # type: ignore[override]
        return self._q("==", value)

    def __ne__(self, value: Any) -> Query:  # type: ignore[override]
        return self._q("!=", value)

    def __lt__(self, value: Any) -> Query:
        return self._q("<", value)

    def __le__(self, value: Any) -> Query:
        return self._q("<=", value)

    def __gt__(self, value: Any) -> Query:
        return self._q(">", value)

    def __ge__(self, value: Any) -> Query:
        return self._q(">=", value)

    def isin(self, values: list[Any]) -> Query:
        """Membership: ``Frame.chip.isin(["ccd51", "ccd52"])``."""
        return self._q("in", list(values))

    def like(self, pattern: str) -> Query:
        """SQL LIKE on a string attribute: ``Frame.object.like("M3%")``."""
        return self._q("like", pattern)

    __hash__ = None  # type: ignore[assignment]


class Query:
    """Products of one type meeting all conditions; iterating runs it in the store's context.

    ``and`` between queries is spelled ``&``. Without ``using(store)`` the default store
    (from settings) is used.
    """

    def __init__(self, type_name: str | None, conditions: tuple[Condition, ...] = (),
                 store: LineageStore | None = None, limit: int | None = None) -> None:
        self.type_name = type_name
        self.conditions = conditions
        self.store = store
        self.limit = limit

    def __repr__(self) -> str:
        inner = ", ".join([repr(self.type_name), *map(repr, self.conditions)])
        return f"Query({inner})"

    def __and__(self, other: Query) -> Query:
        if not isinstance(other, Query):
            return NotImplemented
        if other.type_name not in (None, self.type_name):
            raise TypeError(f"cannot combine a query on {self.type_name} with one on "
                            f"{other.type_name}; follow links from the results instead")
        return Query(self.type_name, self.conditions + other.conditions,
                     self.store or other.store, self.limit)

    def filter(self, **equal: Any) -> Query:
        """More equality conditions: ``q.filter(night="2024-03-01")``."""
        return Query(self.type_name, self.conditions + conditions_from(**equal), self.store,
                     self.limit)

    def using(self, store: LineageStore) -> Query:
        """The same query, run against ``store`` (and its context)."""
        return Query(self.type_name, self.conditions, store, self.limit)

    def first_n(self, n: int) -> Query:
        """At most ``n`` results, newest first."""
        return Query(self.type_name, self.conditions, self.store, n)

    def _store(self) -> LineageStore:
        if self.store is not None:
            return self.store
        from wisehub.lineage.store import default_store

        return default_store()

    def all(self) -> list[ProductView]:
        """Run the query: readable products, newest first."""
        return self._store().select(self.type_name, self.conditions, limit=self.limit)

    def __iter__(self) -> Iterator[ProductView]:
        return iter(self.all())

    def __len__(self) -> int:
        return self._store().count(self.type_name, self.conditions)

    def first(self) -> ProductView | None:
        """The newest matching product, or None."""
        found = self._store().select(self.type_name, self.conditions, limit=1)
        return found[0] if found else None
