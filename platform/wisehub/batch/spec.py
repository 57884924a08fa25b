"""What a job runs, checked at submit time: a function by reference or by value, or a notebook.

A function is named ``"package.module:function"`` (importable) or ``"path/file.py:function"``
(a file in the user's home), or passed as a callable. A callable that cannot be imported by
name (one defined in a notebook) travels by value, pickled with cloudpickle. A notebook runs
under papermill, and its parameters must be declared in its ``parameters`` cell.

>>> function_target("math:sqrt").target
'math:sqrt'
>>> function_target("math:nope")
Traceback (most recent call last):
...
wisehub.batch.errors.JobSpecError: function 'math:nope': module 'math' has no attribute 'nope'
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle

from wisehub.batch.errors import JobSpecError

BY_VALUE = "<pickled>"


@dataclass(frozen=True)
class Target:
    """A checked job target: its reference, its code version and, by value, the pickle."""

    target: str
    code_version: str
    pickled: bytes | None = None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _in_home(path: str, home: Path, what: str) -> Path:
    home = home.resolve()
    full = (home / path).resolve()
    if not full.is_relative_to(home):
        raise JobSpecError(f"{what} {path!r} is outside your home {home}; jobs run files "
                           "from your home only")
    if not full.is_file():
        raise JobSpecError(f"{what} {path!r} not found (looked for {full})")
    return full


def function_target(function: Callable[..., Any] | str, home: Path | None = None) -> Target:
    """Check that ``function`` can be called by a job, and say how to find it again."""
    home = home or Path.home()
    if callable(function):
        return _callable_target(function)
    location, sep, name = str(function).rpartition(":")
    if not sep or not location or not name.isidentifier():
        raise JobSpecError(f"function {function!r}: expected 'package.module:function' or "
                           "'path/to/file.py:function'")
    if location.endswith(".py"):
        path = _in_home(location, home, "function file")
        tree = ast.parse(path.read_bytes(), str(path))
        defined = {n.name for n in tree.body
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if name not in defined:
            raise JobSpecError(f"function {function!r}: {path} defines no top-level "
                               f"function {name!r}")
        return Target(f"{path}:{name}", _digest(path.read_bytes()))
    try:
        module = importlib.import_module(location)
    except ImportError as err:
        raise JobSpecError(f"function {function!r}: cannot import {location!r} ({err})") from None
    found = getattr(module, name, None)
    if not callable(found):
        raise JobSpecError(f"function {function!r}: module {location!r} has no attribute "
                           f"{name!r}" if found is None else f"{function!r} is not callable")
    return Target(f"{location}:{name}", _code_version(module))


def _code_version(module: Any) -> str:
    try:
        return _digest(Path(inspect.getsourcefile(module) or "").read_bytes())
    except (OSError, TypeError):
        return _digest(str(getattr(module, "__version__", module.__name__)).encode())


def _callable_target(function: Callable[..., Any]) -> Target:
    module_name = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if module_name and module_name != "__main__" and "<" not in qualname and "." not in qualname:
        try:
            module = importlib.import_module(module_name)
            if getattr(module, qualname, None) is function:
                return Target(f"{module_name}:{qualname}", _code_version(module))
        except ImportError:
            pass
    try:
        pickled = cloudpickle.dumps(function)
    except Exception as err:
        raise JobSpecError(f"function {qualname or function!r} cannot be sent to a job: "
                           f"{err}") from None
    return Target(f"{BY_VALUE}:{qualname or 'function'}", _digest(pickled), pickled)


def load_function(target: str, pickled: bytes | None = None) -> Callable[..., Any]:
    """The function a target names (used by the runner)."""
    location, _, name = target.rpartition(":")
    if location == BY_VALUE:
        if pickled is None:
            raise JobSpecError(f"job target {target!r} has no pickled function")
        return cloudpickle.loads(pickled)
    if location.endswith(".py"):
        return runpy.run_path(location, run_name=f"wisehub_batch_{Path(location).stem}")[name]
    return getattr(importlib.import_module(location), name)


def notebook_target(notebook: str | Path, parameters: Mapping[str, Any],
                    home: Path | None = None) -> Target:
    """Check a notebook job: the notebook exists (in the home) and declares every parameter."""
    import papermill

    path = _in_home(str(notebook), home or Path.home(), "notebook")
    if path.suffix != ".ipynb":
        raise JobSpecError(f"notebook {str(notebook)!r} is not a .ipynb file")
    try:
        declared = papermill.inspect_notebook(str(path))
    except Exception as err:
        raise JobSpecError(f"notebook {str(notebook)!r} cannot be read: {err}") from None
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        have = ", ".join(sorted(declared)) or "none (it has no cell tagged 'parameters')"
        raise JobSpecError(f"notebook {str(notebook)!r} does not declare parameter(s) "
                           f"{', '.join(unknown)}; it declares: {have}")
    return Target(str(path), _digest(path.read_bytes()))


def plain(value: Any) -> Any:
    """A JSON-able form of a parameter value for records and lineage (``repr`` otherwise).

    >>> plain({"night": "2024-03-01", "n": (1, 2), "f": open})
    {'night': '2024-03-01', 'n': [1, 2], 'f': '<built-in function open>'}
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return repr(value)
