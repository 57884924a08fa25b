"""Lineage and target processing with Astro-WISE semantics on SQLite or PostgreSQL.

Products (PROV entities) and processes (PROV activities) live in a SQLAlchemy store; every
read is scoped to a :class:`Context` (user, groups, projects). :class:`Target` classes
declare inputs as queries and ``Target.get(**keys)`` makes only what is missing or stale.

>>> from wisehub.lineage import Context, LineageStore
>>> store = LineageStore("sqlite://", Context("ada"))
>>> store.register("Note", name="n1").privilege
'private'
"""

from wisehub.lineage.context import PRIVILEGES, Context, PrivilegeError
from wisehub.lineage.graph import Lineage, lineage, tainted
from wisehub.lineage.plan import OUTDATED, TO_BUILD, UP_TO_DATE, PlanNode
from wisehub.lineage.product import ProductView
from wisehub.lineage.query import Condition, Query
from wisehub.lineage.schema import SchemaError, upgrade
from wisehub.lineage.store import (
    LineageStore,
    UnknownProductError,
    default_store,
    set_default_store,
)
from wisehub.lineage.target import (
    Calibration,
    Each,
    Need,
    Result,
    Select,
    Target,
    TargetError,
)

__all__ = [
    "OUTDATED",
    "PRIVILEGES",
    "TO_BUILD",
    "UP_TO_DATE",
    "Calibration",
    "Condition",
    "Context",
    "Each",
    "Lineage",
    "LineageStore",
    "Need",
    "PlanNode",
    "PrivilegeError",
    "ProductView",
    "Query",
    "Result",
    "SchemaError",
    "Select",
    "Target",
    "TargetError",
    "UnknownProductError",
    "default_store",
    "lineage",
    "set_default_store",
    "tainted",
    "upgrade",
]
