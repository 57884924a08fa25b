"""Pythonic product queries: ``(Frame.chip == "ccd51") & (Frame.filter == "r")``, then iterate.

Queries run in a store's context, so they only ever see readable products. Iterating
prefetches the products each result used (its named inputs, one level), so following
``frame.flat`` costs no query per product.

>>> q = (Field("Frame", "chip") == "ccd51") & (Field("Frame", "exptime") > 10)
>>> q
Query('Frame', chip == 'ccd51', exptime > 10)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wisehub.lineage.conditions import Condition, attr_key, conditions_from
from wisehub.lineage.product import ProductView
from wisehub.lineage.store import LineageStore, default_store


class Field:
    """A class-level attribute in a query: ``Frame.chip == "ccd51"`` gives a :class:`Query`."""

    def __init__(self, type_name: str, key: str) -> None:
        self.type_name = type_name
        self.key = attr_key(key)

    def __repr__(self) -> str:
        return f"<Field {self.type_name}.{self.key}>"

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
        return self.store if self.store is not None else default_store()

    def all(self) -> list[ProductView]:
        """Run the query: readable products, newest first, with the inputs each one used.

        The inputs are fetched for all results at once, so ``[k.flat.imstat.stdev for k in
        q]`` costs the same few SQL statements for ten products or ten thousand.
        """
        return self._store().select(self.type_name, self.conditions, limit=self.limit,
                                    prefetch=True)

    def __iter__(self) -> Iterator[ProductView]:
        return iter(self.all())

    def __len__(self) -> int:
        return self._store().count(self.type_name, self.conditions)

    def first(self) -> ProductView | None:
        """The newest matching product, or None."""
        found = self._store().select(self.type_name, self.conditions, limit=1, prefetch=True)
        return found[0] if found else None
