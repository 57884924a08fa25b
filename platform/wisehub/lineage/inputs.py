"""What a target declares: its inputs (as queries), the result of ``make()``, and errors.

The engine's lower layers (planning, building) read these declarations; they never import
the :class:`~wisehub.lineage.target.Target` base class itself, which sits on top of them.

- :class:`Select` picks existing products by attributes (raw frames of this night and chip);
- :class:`Need` asks for another target, made if missing or stale (backward chaining);
- :class:`Calibration` picks the newest valid product whose validity window covers the
  observation, and makes one when none does;
- :class:`Each` asks for one target per product a query selects.

>>> Select("RawFrame", lambda t: {"night": t.night}).type_name
'RawFrame'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr


class TargetError(ValueError):
    """A target cannot be planned: bad keys, nothing selected, ambiguity, a cycle, failed QC."""


@dataclass
class Result:
    """What ``make()`` returns: data to store, plus metadata, attributes and a validity window.

    ``valid`` is ``(from, to)`` in MJD; ``meta`` holds records such as ``imstat``;
    ``attrs`` are searchable on top of the target's keys (declare them in ``fields``).

    >>> Result(meta={"n_inputs": 3}).meta["n_inputs"]
    3
    """

    data: xr.Dataset | xr.DataArray | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    valid: tuple[float, float] | None = None
    name: str | None = None


# Target classes by product type name, so inputs can name a target not yet defined.
_REGISTRY: dict[str, type] = {}


def register_target(cls: type) -> None:
    """Make ``cls`` findable by its ``type_name`` (called for every Target subclass)."""
    _REGISTRY[cls.type_name] = cls  # type: ignore[attr-defined]


def target_class(type_name: str) -> Any:
    """The target class registered under a product type name.

    >>> target_class("NoSuchTarget")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wisehub.lineage.inputs.TargetError: no target class is named 'NoSuchTarget'; ...
    """
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise TargetError(f"no target class is named {type_name!r}; import the module that "
                          "defines it") from None


class Input:
    """Base of input declarations; the attribute name becomes the input role.

    ``target`` is a target class, or its type name as a forward reference.
    """

    role: str = ""

    def __init__(self, target: Any) -> None:
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

    def target_class(self) -> Any:
        """The input's target class (a name given as a forward reference is looked up)."""
        return target_class(self.target) if isinstance(self.target, str) else self.target


class Select(Input):
    """Existing products selected by attributes: ``Select(RawFrame, lambda t: {...})``.

    ``many=False`` needs exactly one candidate unless ``newest=True`` picks the newest.
    Products a person marked bad (``is_valid == 0``) are never selected.
    """

    def __init__(self, target: Any, where: Callable[[Any], dict[str, Any]], *,
                 many: bool = True, min_count: int = 1, newest: bool = False) -> None:
        super().__init__(target)
        self.where, self.many, self.min_count, self.newest = where, many, min_count, newest


class Need(Input):
    """Another target, got with keys computed from this one (made if missing or stale)."""

    def __init__(self, target: Any, keys: Callable[[Any], dict[str, Any]]) -> None:
        super().__init__(target)
        self.keys = keys


class Calibration(Input):
    """Astro-WISE calibration selection, with a fallback target to make.

    ``match`` gives the attributes to match (chip, filter), ``at`` the observation time
    (MJD), ``build`` the keys of the target to make when no valid product covers ``at``.
    """

    def __init__(self, target: Any, match: Callable[[Any], dict[str, Any]],
                 at: Callable[[Any], float],
                 build: Callable[[Any], dict[str, Any]] | None = None) -> None:
        super().__init__(target)
        self.match, self.at, self.build = match, at, build


class Each(Input):
    """One ``target`` per product a query selects: ``Each(Reduced, RawFrame, where, keys)``.

    ``where`` gives the attributes of the source products (e.g. the raw science frames of
    a night and filter); ``keys`` turns each source product into the target's keys.
    """

    def __init__(self, target: Any, source: Any, where: Callable[[Any], dict[str, Any]],
                 keys: Callable[[Any], dict[str, Any]], *, min_count: int = 1) -> None:
        super().__init__(target)
        self.source = source if isinstance(source, str) else source.type_name
        self.where, self.keys, self.min_count = where, keys, min_count
