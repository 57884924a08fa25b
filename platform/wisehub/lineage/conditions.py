"""Conditions on products and the SQL they become: the bottom layer every query uses.

A condition names a product column (``name``, ``owner``, ``is_valid``, ``quality_flags``,
``valid_from``, ``valid_to``, ``created_at``) or a searchable attribute (``night``, ``chip``,
…). :func:`statement` turns conditions into one indexed SELECT; the store scopes it.

>>> conditions_from(chip="ccd51")
(chip == 'ccd51',)
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, select
from sqlalchemy.orm import aliased

from wisehub.lineage.models import Attribute, Product

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
