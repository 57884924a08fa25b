"""Code versions: a hash of the code a target's ``make()`` runs, down into the library.

As redun hashes a task together with the tasks and functions it calls, a target's code
version covers more than its own ``make`` and ``verify``:

1. the wisehub version;
2. the source of every function of the target's own module that ``make``/``verify`` reach
   (helpers such as ``frames_of``), function by function, so editing one target's ``make``
   leaves the other targets of a pipeline module alone;
3. the whole source of every *other* wisehub module they reach, transitively: a function is
   reached when the code loads it as a global, imports it (``from wisehub.reduce import
   master_bias`` inside ``make``), or follows an attribute of a reached module or class
   (``reduce.combine``); its module is hashed and its own code walked in turn. Whole modules
   are hashed so module constants and dispatch tables (``METHODS[name]``) count too;
4. whatever the target lists in ``uses`` (module names or objects), for calls the walk
   cannot see (a method of an object made at run time).

Code outside wisehub (numpy, astropy, …) is covered by the software environment recorded
with every process, not by this hash; nor is the lineage engine itself (``wisehub.lineage``),
which records products but does not compute them. The parts are kept by name, so the planner can say
*which* module changed.

>>> def helper():
...     return 1
>>> version = code_version([helper], home="wisehub.demo", uses=("wisehub.reduce.sections",))
>>> version.version.startswith(wisehub_version() + "+"), sorted(version.parts)[-1]
(True, 'wisehub.reduce.sections')
"""

from __future__ import annotations

import dis
import hashlib
import importlib
import inspect
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

PACKAGE = "wisehub"
_FOLLOW = ("LOAD_ATTR", "LOAD_METHOD")


@dataclass(frozen=True)
class CodeVersion:
    """A code version (``<wisehub version>+<hash>``) and the digest of each part by name."""

    version: str
    parts: dict[str, str]


def wisehub_version() -> str:
    """The installed wisehub's version."""
    from wisehub import __version__

    return str(__version__)


def module_source(name: str) -> str:
    """The source text of a module, from its loader (works from a wheel as from a checkout).

    >>> "def module_source" in module_source("wisehub.lineage.code")
    True
    """
    try:
        return inspect.getsource(importlib.import_module(name))
    except (OSError, TypeError):
        raise LookupError(f"no source for module {name!r}; code versions need wisehub "
                          "installed with its .py files") from None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _compiled(code: types.CodeType) -> str:
    """A code object's instructions, names and constants (nested code included), as text."""
    consts = [_compiled(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return f"{code.co_code.hex()}|{code.co_names}|{code.co_varnames}|{consts}"


def source_of(obj: Any) -> str:
    """The source of a function or class; for code without a source file (typed into a
    console, made by ``exec``) its compiled form, so changes still show.

    >>> namespace: dict = {}
    >>> exec("def f(): return 1", namespace)
    >>> source_of(namespace["f"]).startswith("compiled:")
    True
    """
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        functions = [obj] if inspect.isfunction(obj) else list(_functions_of(obj))
        return "compiled:" + "\n".join(_compiled(f.__code__) for f in functions)


ENGINE = "wisehub.lineage"


def _ours(name: str | None) -> bool:
    """Whether a module is wisehub library code (the lineage engine left out)."""
    text = str(name or "")
    return (text == PACKAGE or text.startswith(PACKAGE + ".")) and not (
        text == ENGINE or text.startswith(ENGINE + "."))


def _imported(name: str, level: int, package: str | None) -> Any:
    try:
        return importlib.import_module(("." * level) + name if level else name,
                                       package if level else None)
    except ImportError:
        return None


def _references(code: types.CodeType, namespace: dict[str, Any]) -> Iterator[Any]:
    """Objects a code object names: globals, imports, and attributes followed from them."""
    instructions = list(dis.get_instructions(code))
    module: Any = None  # the module of the latest IMPORT_NAME, for IMPORT_FROM
    for i, ins in enumerate(instructions):
        found: Any = None
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            found = namespace.get(str(ins.argval))
        elif ins.opname == "IMPORT_NAME":
            level = instructions[i - 2].argval if i >= 2 else 0
            found = module = _imported(str(ins.argval), int(level or 0),
                                       namespace.get("__package__"))
        elif ins.opname == "IMPORT_FROM" and module is not None:
            found = getattr(module, str(ins.argval), None)
            if found is None:  # a submodule: from package import module
                found = _imported(f"{module.__name__}.{ins.argval}", 0, None)
        if found is None:
            continue
        yield found
        for follow in instructions[i + 1:]:  # reduce.combine, Class.method
            if follow.opname not in _FOLLOW or not (inspect.ismodule(found)
                                                    or inspect.isclass(found)):
                break
            found = getattr(found, str(follow.argval), None)
            if found is None:
                break
            yield found
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _references(const, namespace)


def _module_of(obj: Any) -> str | None:
    if inspect.ismodule(obj):
        return obj.__name__
    return getattr(obj, "__module__", None)


def _functions_of(obj: Any) -> Iterator[Callable[..., Any]]:
    """The plain functions inside a reached object (methods of a class, wrapped functions)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if inspect.isfunction(obj):
        yield inspect.unwrap(obj)
    elif inspect.isclass(obj):
        for member in vars(obj).values():
            if isinstance(member, property):
                yield from (f for f in (member.fget, member.fset) if f is not None)
            elif inspect.isfunction(member) or isinstance(member, (staticmethod, classmethod)):
                yield from _functions_of(member)
    elif isinstance(obj, (dict, list, tuple, set, frozenset)):  # dispatch tables
        values = obj.values() if isinstance(obj, dict) else obj
        for value in values:
            if inspect.isfunction(value) or inspect.isclass(value):
                yield from _functions_of(value)


def reached(functions: Iterable[Any], home: str) -> tuple[list[Any], set[str]]:
    """The functions and classes of module ``home``, and the other wisehub modules, that
    the code of ``functions`` reaches.

    >>> from wisehub.reduce import sections
    >>> own, modules = reached([sections.section_slices], home="wisehub.reduce.sections")
    >>> [o.__name__ for o in own], sorted(modules)
    (['section_slices'], [])
    """
    own: dict[int, Any] = {}
    modules: set[str] = set()
    queue = list(functions)
    seen: set[int] = set()
    while queue:
        obj = queue.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        module = _module_of(obj)
        if not _ours(module):
            continue
        if module == home and (inspect.isfunction(obj) or inspect.isclass(obj)):
            own[id(obj)] = obj
        elif module != home:
            modules.add(str(module))
        if inspect.ismodule(obj):
            continue
        for function in _functions_of(obj):
            if _ours(function.__module__) and function.__module__ != home:
                modules.add(function.__module__)
            queue.extend(_references(function.__code__, function.__globals__))
    return sorted(own.values(), key=lambda o: o.__qualname__), modules


@cache
def module_digest(name: str) -> str:
    """The digest of one module's source."""
    return _digest(module_source(name))


def code_version(functions: Iterable[Callable[..., Any]], *, home: str,
                 uses: Iterable[Any] = ()) -> CodeVersion:
    """The code version of ``functions`` (defined in module ``home``) and what they reach.

    ``uses`` adds module names or objects the walk cannot see; their modules count whole.
    """
    extra = [importlib.import_module(u) if isinstance(u, str) else u for u in uses]
    own, modules = reached([*functions, *extra], home)
    modules |= {str(_module_of(u)) for u in extra if _ours(_module_of(u))}
    modules.discard(home)
    parts = {f"{home}.{f.__qualname__}": _digest(source_of(f)) for f in own}
    parts.update({name: module_digest(name) for name in sorted(modules)})
    parts["wisehub"] = wisehub_version()
    text = "\n".join(f"{name}={digest}" for name, digest in sorted(parts.items()))
    return CodeVersion(f"{wisehub_version()}+{_digest(text)}", parts)


def changed_parts(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """The names whose digests differ (added or removed parts included), sorted.

    >>> changed_parts({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"})
    ['b', 'c']
    """
    return sorted(name for name in set(before) | set(now) if before.get(name) != now.get(name))
