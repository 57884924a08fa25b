"""Lineage and target processing with Astro-WISE semantics on SQLite or PostgreSQL.

Products (PROV entities) and processes (PROV activities) live in a SQLAlchemy store; every
read is scoped to a :class:`Context` (user, groups, projects). :class:`Target` classes
declare inputs as queries and ``Target.get(**keys)`` makes only what is missing or stale.
This package is the engine only; pipelines of targets live in :mod:`wisehub.pipelines`.

Layers, each importing only those before it: ``models``/``context``/``schema`` →
``conditions`` → ``product`` → ``graph`` → ``store`` → ``query`` → ``inputs``/``code`` →
``plan`` → ``claims``/``build`` → ``target``.

>>> from wisehub.lineage import Context, LineageStore
>>> store = LineageStore("sqlite://", Context("ada"))
>>> store.register("Note", name="n1").privilege
'private'
"""

from wisehub.lineage.code import CodeVersion
from wisehub.lineage.conditions import Condition
from wisehub.lineage.context import PRIVILEGES, Context, PrivilegeError
from wisehub.lineage.graph import Lineage
from wisehub.lineage.inputs import Calibration, Each, Need, Result, Select, TargetError
from wisehub.lineage.plan import OUTDATED, TO_BUILD, UP_TO_DATE, PlanNode
from wisehub.lineage.product import ProductView
from wisehub.lineage.query import Query
from wisehub.lineage.schema import SchemaError, upgrade
from wisehub.lineage.store import (
    LineageStore,
    UnknownProductError,
    default_store,
    set_default_store,
)
from wisehub.lineage.target import Target, forget_code_versions

__all__ = [
    "OUTDATED",
    "PRIVILEGES",
    "TO_BUILD",
    "UP_TO_DATE",
    "Calibration",
    "CodeVersion",
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
    "forget_code_versions",
    "set_default_store",
    "upgrade",
]
