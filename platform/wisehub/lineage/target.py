"""Targets: products declared by their inputs (as queries), parameters, code and ``make()``.

A target class names its keys (what identifies one product, e.g. night and chip), its
default parameters, and its inputs, in the order they resolve:

- :class:`Select` picks existing products by attributes (raw frames of this night and chip);
- :class:`Need` asks for another target, made if missing or stale (backward chaining);
- :class:`Calibration` picks the newest valid product whose validity window covers the
  observation, and makes one when none does.

Input callables receive the target being planned, with its keys, parameters and the inputs
resolved so far as attributes. ``make()`` then finds every input as an attribute too.

Searchable attributes are the keys plus ``fields`` (what ``make()`` adds as ``attrs``), so
``Note.night == "..."`` builds a query and a typo fails at once:

>>> class Note(Target):
...     keys = ("night",)
...     fields = ("chip",)
>>> Note.type_name, Note.buildable, Note.night
('Note', False, <Field Note.night>)
>>> Note.chp  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AttributeError: Note has no field 'chp'; its fields are: chip, night (attributes), ...
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from wisehub.lineage import code as codever
from wisehub.lineage.build import execute
from wisehub.lineage.conditions import COLUMNS, Condition, attr_key, conditions_from
from wisehub.lineage.inputs import Input, Result, TargetError, register_target
from wisehub.lineage.plan import Planner, PlanNode
from wisehub.lineage.query import Field, Query
from wisehub.lineage.store import LineageStore, default_store

if TYPE_CHECKING:
    import xarray as xr

    from wisehub.lineage.product import ProductView


class _TargetMeta(type):
    """Lets ``Frame.chip == "ccd51"`` build a query on the class; unknown names fail."""

    def __getattr__(cls, name: str) -> Field:
        if name.startswith("_"):
            raise AttributeError(name)
        key = attr_key(name)
        attributes = cls.attributes()  # type: ignore[attr-defined]
        if key not in attributes and key not in COLUMNS:
            raise AttributeError(
                f"{cls.type_name} has no field {name!r}; its fields are: "  # type: ignore[attr-defined]
                f"{', '.join(sorted(attributes)) or '(none)'} (attributes), "
                f"{', '.join(sorted(COLUMNS))} (columns)")
        return Field(cls.type_name, name)  # type: ignore[attr-defined]

    @property
    def buildable(cls) -> bool:
        """Whether the class defines ``make()`` (raw data is registered, not made)."""
        return cls.make is not Target.make  # type: ignore[attr-defined]


class Target(metaclass=_TargetMeta):
    """Base class of targets. Subclasses set ``keys``, ``params``, inputs and ``make()``.

    ``fields`` names the searchable attributes besides the keys (those ``make()`` returns
    in ``Result.attrs``, or that registration gives raw data). ``uses`` lists library
    modules or functions ``make()`` calls in ways the code-version walk cannot see
    (:mod:`wisehub.lineage.code`); ``version`` pins the code version by hand instead.
    """

    keys: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[dict[str, Any]] = {}
    version: ClassVar[str | None] = None
    uses: ClassVar[tuple[Any, ...]] = ()
    type_name: ClassVar[str] = "Target"
    inputs: ClassVar[dict[str, Input]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__dict__.get("type_name", cls.__name__)
        inputs: dict[str, Input] = {}
        for klass in reversed(cls.__mro__):
            inputs.update({k: v for k, v in vars(klass).items() if isinstance(v, Input)})
        cls.inputs = inputs
        register_target(cls)

    def __init__(self, keys: dict[str, Any], params: dict[str, Any]) -> None:
        self.__dict__.update(params)
        self.__dict__.update(keys)
        self.target_keys = keys
        self.parameters = params

    def __repr__(self) -> str:
        return f"{self.type_name}({', '.join(f'{k}={v!r}' for k, v in self.target_keys.items())})"

    # ----------------------------------------------------------- declarations
    @classmethod
    def attributes(cls) -> frozenset[str]:
        """The searchable attribute names: the keys and ``fields`` (stored form)."""
        return frozenset(attr_key(k) for k in (*cls.keys, *cls.fields))

    @classmethod
    def code(cls) -> codever.CodeVersion:
        """The code version with its parts: ``version`` if pinned, else ``make``/``verify``
        and the library code they reach (see :mod:`wisehub.lineage.code`)."""
        if cls.version is not None:
            return codever.CodeVersion(cls.version, {})
        return _code_of(cls)

    @classmethod
    def code_version(cls) -> str:
        """The code version string recorded with every product this target makes."""
        return cls.code().version

    @classmethod
    def split(cls, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Separate keys from parameters, with clear errors for missing or unknown names."""
        missing = [k for k in cls.keys if k not in kwargs]
        unknown = [k for k in kwargs if k not in cls.keys and k not in cls.params]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing key(s) {', '.join(missing)}")
            if unknown:
                parts.append(f"unknown name(s) {', '.join(unknown)}")
            raise TargetError(f"{cls.type_name}: {'; '.join(parts)}. Keys: "
                              f"{', '.join(cls.keys) or '(none)'}; parameters: "
                              f"{', '.join(cls.params) or '(none)'}")
        keys = {k: kwargs[k] for k in cls.keys}
        params = {**cls.params, **{k: v for k, v in kwargs.items() if k in cls.params}}
        return keys, params

    @classmethod
    def key_of(cls, keys: dict[str, Any]) -> str:
        """The target key: a hash of the type and its keys (indexed in the store)."""
        text = json.dumps([cls.type_name, keys], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    # ------------------------------------------------------------- behaviour
    def make(self) -> Result | xr.DataArray | xr.Dataset:
        """Compute the product from the inputs (attributes of ``self``)."""
        raise TargetError(f"{self.type_name} products are registered (e.g. at ingest), "
                          "not made; none matches the request")

    def verify(self, result: Result) -> int:
        """The system's QC: bit flags for what is wrong with a fresh result (0: nothing)."""
        return 0

    # ------------------------------------------------------------------- API
    @classmethod
    def get(cls, *, store: LineageStore | None = None, dry_run: bool = False,
            force: bool = False, use: dict[str, str | ProductView] | None = None,
            **kwargs: Any) -> Any:
        """The up-to-date product for these keys, made (recursively) if missing or stale.

        ``dry_run=True`` returns the plan instead, each node marked "to be built",
        "outdated" or "up to date". ``force=True`` remakes this product. ``use`` overrides
        the selection of named inputs with explicit products (or product ids).
        """
        store = store or default_store()
        keys, params = cls.split(kwargs)
        plan = Planner(store, use=use).plan(cls, keys, params, force=force)
        return plan if dry_run else execute(plan, store)

    @classmethod
    def plan(cls, *, store: LineageStore | None = None, **kwargs: Any) -> PlanNode:
        """Shorthand for ``get(..., dry_run=True)``."""
        return cls.get(store=store, dry_run=True, **kwargs)

    @classmethod
    def query(cls, **equal: Any) -> Query:
        """Products of this type with these attribute values: ``MasterBias.query(chip=...)``.

        Each name must be a field (:meth:`attributes`) or a column, else ``AttributeError``.
        """
        for name in equal:
            getattr(cls, name)
        return Query(cls.type_name, conditions_from(**equal))

    @classmethod
    def where(cls, *conditions: Condition) -> Query:
        """Products of this type meeting explicit conditions."""
        return Query(cls.type_name, tuple(conditions))


@cache
def _code_of(cls: type[Target]) -> codever.CodeVersion:
    own = [f for f in (cls.make, cls.verify) if f not in (Target.make, Target.verify)]
    return codever.code_version(own, home=cls.__module__, uses=cls.uses)


def forget_code_versions() -> None:
    """Recompute code versions on next use (after reloading or patching library code)."""
    _code_of.cache_clear()
    codever.module_digest.cache_clear()
