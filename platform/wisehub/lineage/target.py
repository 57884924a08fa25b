"""Targets: products declared by their inputs (as queries), parameters, code and ``make()``.

A target class names its keys (what identifies one product, e.g. night and chip), its
default parameters, and its inputs, in the order they resolve:

- :class:`Select` picks existing products by attributes (raw frames of this night and chip);
- :class:`Need` asks for another target, made if missing or stale (backward chaining);
- :class:`Calibration` picks the newest valid product whose validity window covers the
  observation, and makes one when none does.

Input callables receive the target being planned, with its keys, parameters and the inputs
resolved so far as attributes. ``make()`` then finds every input as an attribute too.

>>> class Note(Target):
...     keys = ("night",)
>>> Note.type_name, Note.buildable, Note.night
('Note', False, <Field Note.night>)
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from wisehub.lineage.query import Condition, Field, Query, conditions_from

if TYPE_CHECKING:
    import xarray as xr

    from wisehub.lineage.plan import PlanNode
    from wisehub.lineage.product import ProductView
    from wisehub.lineage.store import LineageStore


class TargetError(ValueError):
    """A target cannot be planned: bad keys, nothing selected, ambiguity, a cycle, failed QC."""


@dataclass
class Result:
    """What ``make()`` returns: data to store, plus metadata, attributes and a validity window.

    ``valid`` is ``(from, to)`` in MJD; ``meta`` holds records such as ``imstat``;
    ``attrs`` are searchable on top of the target's keys.
    """

    data: xr.Dataset | xr.DataArray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    valid: tuple[float, float] | None = None
    name: str | None = None


class _Input:
    """Base of input declarations; the attribute name becomes the input role."""

    role: str = ""

    def __init__(self, target: type[Target] | str) -> None:
        self.target = target

    def __set_name__(self, owner: type, name: str) -> None:
        self.role = name

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        raise TargetError(f"input {self.role!r} of {owner.__name__} is not resolved yet; "
                          "input callables may only use keys, parameters and earlier inputs")

    @property
    def type_name(self) -> str:
        """The product type this input selects."""
        return self.target if isinstance(self.target, str) else self.target.type_name

    def target_class(self) -> type[Target]:
        """The input's target class (a name given as a forward reference is looked up)."""
        return target_class(self.target) if isinstance(self.target, str) else self.target


class Select(_Input):
    """Existing products selected by attributes: ``Select(RawFrame, lambda t: {...})``.

    ``many=False`` needs exactly one candidate unless ``newest=True`` picks the newest.
    Products a person marked bad (``is_valid == 0``) are never selected.
    """

    def __init__(self, target: type[Target] | str, where: Callable[[Any], dict[str, Any]], *,
                 many: bool = True, min_count: int = 1, newest: bool = False) -> None:
        super().__init__(target)
        self.where, self.many, self.min_count, self.newest = where, many, min_count, newest


class Need(_Input):
    """Another target, got with keys computed from this one (made if missing or stale)."""

    def __init__(self, target: type[Target] | str, keys: Callable[[Any], dict[str, Any]]) -> None:
        super().__init__(target)
        self.keys = keys


class Calibration(_Input):
    """Astro-WISE calibration selection, with a fallback target to make.

    ``match`` gives the attributes to match (chip, filter), ``at`` the observation time
    (MJD), ``build`` the keys of the target to make when no valid product covers ``at``.
    """

    def __init__(self, target: type[Target] | str, match: Callable[[Any], dict[str, Any]],
                 at: Callable[[Any], float],
                 build: Callable[[Any], dict[str, Any]] | None = None) -> None:
        super().__init__(target)
        self.match, self.at, self.build = match, at, build


class Each(_Input):
    """One ``target`` per product a query selects: ``Each(Reduced, RawFrame, where, keys)``.

    ``where`` gives the attributes of the source products (e.g. the raw science frames of
    a night and filter); ``keys`` turns each source product into the target's keys.
    """

    def __init__(self, target: type[Target] | str, source: type[Target] | str,
                 where: Callable[[Any], dict[str, Any]],
                 keys: Callable[[ProductView], dict[str, Any]], *, min_count: int = 1) -> None:
        super().__init__(target)
        self.source = source if isinstance(source, str) else source.type_name
        self.where, self.keys, self.min_count = where, keys, min_count


class _TargetMeta(type):
    """Lets ``Frame.chip == "ccd51"`` build a query on the class."""

    def __getattr__(cls, name: str) -> Field:
        if name.startswith("_"):
            raise AttributeError(name)
        return Field(cls.type_name, name)

    @property
    def buildable(cls) -> bool:
        """Whether the class defines ``make()`` (raw data is registered, not made)."""
        return cls.make is not Target.make


Field.__repr__ = lambda self: f"<Field {self.type_name}.{self.key}>"  # type: ignore[method-assign]

_REGISTRY: dict[str, type[Target]] = {}


def target_class(type_name: str) -> type[Target]:
    """The target class registered under a product type name."""
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise TargetError(f"no target class is named {type_name!r}; import the module that "
                          "defines it") from None


class Target(metaclass=_TargetMeta):
    """Base class of targets. Subclasses set ``keys``, ``params``, inputs and ``make()``."""

    keys: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[dict[str, Any]] = {}
    version: ClassVar[str | None] = None
    type_name: ClassVar[str] = "Target"
    inputs: ClassVar[dict[str, _Input]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__dict__.get("type_name", cls.__name__)
        inputs: dict[str, _Input] = {}
        for klass in reversed(cls.__mro__):
            inputs.update({k: v for k, v in vars(klass).items() if isinstance(v, _Input)})
        cls.inputs = inputs
        cls._code_version = None
        _REGISTRY[cls.type_name] = cls

    def __init__(self, keys: dict[str, Any], params: dict[str, Any]) -> None:
        self.__dict__.update(params)
        self.__dict__.update(keys)
        self.target_keys = keys
        self.parameters = params

    def __repr__(self) -> str:
        return f"{self.type_name}({', '.join(f'{k}={v!r}' for k, v in self.target_keys.items())})"

    # ----------------------------------------------------------- declarations
    @classmethod
    def code_version(cls) -> str:
        """``version`` if given, else a hash of the source of ``make`` and ``verify``."""
        if cls.version is not None:
            return cls.version
        if cls._code_version is None:
            source = "".join(inspect.getsource(f) for f in (cls.make, cls.verify)
                             if f not in (Target.make, Target.verify))
            cls._code_version = hashlib.sha256(source.encode()).hexdigest()[:16]
        return cls._code_version

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
        from wisehub.lineage.build import execute
        from wisehub.lineage.plan import Planner
        from wisehub.lineage.store import default_store

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
        """Products of this type with these attribute values: ``MasterBias.query(chip=...)``."""
        return Query(cls.type_name, conditions_from(**equal))

    @classmethod
    def where(cls, *conditions: Condition) -> Query:
        """Products of this type meeting explicit conditions."""
        return Query(cls.type_name, tuple(conditions))
