"""Public names of a package that import on first use, so importing the package stays light.

A package lists its names in a table, ``{"name": "package.module:attribute"}`` (or a plain
``"package.module"`` for a whole module), and sets ``__getattr__ = lazy_getattr(globals(),
table)``. The first access imports the module and binds the value in the package, so the next
access is a plain attribute lookup.

>>> namespace = {"__name__": "demo"}
>>> getter = lazy_getattr(namespace, {"sqrt": "math:sqrt", "json": "json"})
>>> getter("sqrt")(9.0), getter("json").__name__, "sqrt" in namespace
(3.0, 'json', True)
>>> getter("nope")
Traceback (most recent call last):
AttributeError: module 'demo' has no attribute 'nope'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(namespace: dict[str, Any], table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that resolves the names in ``table`` on first use.

    Parameters
    ----------
    namespace : the package's ``globals()``; resolved values are bound there.
    table : public name → ``"module:attribute"``, or ``"module"`` for the module itself.

    Returns
    -------
    The function to assign to the package's ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        module_name, _, attribute = table[name].partition(":")
        module = import_module(module_name)
        value = getattr(module, attribute) if attribute else module
        namespace[name] = value
        return value

    return __getattr__
