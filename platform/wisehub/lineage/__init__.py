"""Lineage and target processing with Astro-WISE semantics on SQLite or PostgreSQL.

Products (PROV entities) and processes (PROV activities) live in a SQLAlchemy store; every
read is scoped to a :class:`Context` (user, groups, projects). :class:`Target` classes
declare inputs as queries and ``Target.get(**keys)`` makes only what is missing or stale.
This package is the engine only; pipelines of targets live in :mod:`wisehub.pipelines`.

Layers, each importing only those before it: ``models``/``context``/``schema`` →
``conditions`` → ``product`` → ``graph`` → ``store`` → ``query`` → ``inputs``/``code`` →
``plan`` → ``claims``/``build`` → ``target``. Names resolve on first use, so a service that
reads only the store (the publishing service) does not import the build's science stack.

>>> from wisehub.lineage import Context, LineageStore
>>> store = LineageStore("sqlite://", Context("ada"))
>>> store.register("Note", name="n1").privilege
'private'
"""

from wisehub.lazy import lazy_getattr

_LAZY = {
    "Calibration": "wisehub.lineage.inputs:Calibration",
    "CodeVersion": "wisehub.lineage.code:CodeVersion",
    "Condition": "wisehub.lineage.conditions:Condition",
    "Context": "wisehub.lineage.context:Context",
    "Each": "wisehub.lineage.inputs:Each",
    "Lineage": "wisehub.lineage.graph:Lineage",
    "LineageStore": "wisehub.lineage.store:LineageStore",
    "Need": "wisehub.lineage.inputs:Need",
    "OUTDATED": "wisehub.lineage.plan:OUTDATED",
    "PRIVILEGES": "wisehub.lineage.context:PRIVILEGES",
    "PlanNode": "wisehub.lineage.plan:PlanNode",
    "PrivilegeError": "wisehub.lineage.context:PrivilegeError",
    "ProductView": "wisehub.lineage.product:ProductView",
    "Query": "wisehub.lineage.query:Query",
    "Result": "wisehub.lineage.inputs:Result",
    "SchemaError": "wisehub.lineage.schema:SchemaError",
    "Select": "wisehub.lineage.inputs:Select",
    "TO_BUILD": "wisehub.lineage.plan:TO_BUILD",
    "Target": "wisehub.lineage.target:Target",
    "TargetError": "wisehub.lineage.inputs:TargetError",
    "UP_TO_DATE": "wisehub.lineage.plan:UP_TO_DATE",
    "UnknownProductError": "wisehub.lineage.store:UnknownProductError",
    "default_store": "wisehub.lineage.store:default_store",
    "forget_code_versions": "wisehub.lineage.target:forget_code_versions",
    "set_default_store": "wisehub.lineage.store:set_default_store",
    "upgrade": "wisehub.lineage.schema:upgrade",
}

__getattr__ = lazy_getattr(globals(), _LAZY)

__all__ = sorted(_LAZY)
