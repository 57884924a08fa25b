"""Write docs/api.md, the one-page public API, from the docstrings themselves.

Every public name of ``wisehub`` (``wh.__all__``) and of each of its sub-packages (their
``__all__``) gets its signature, its one-line summary and the first lines of its example.
``tests/test_api.py`` fails when docs/api.md differs from what this script writes, so the
page cannot drift from the code. Regenerate it with::

    python scripts/api_docs.py
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "api.md"
EXAMPLE_LINES = 8  # enough to show a call and its result; the docstring has the rest

HEADER = """# The wisehub API on one page

Generated from the docstrings by `python scripts/api_docs.py`; `tests/test_api.py` fails when
this page and the code disagree. `import wisehub as wh` is light: each sub-package below
imports on first use (`wh.reduce`, `wh.viz`, ...). Every example here runs as a doctest in
`make test`.
"""


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ") or "*(no docstring)*"


def _example(obj: object) -> list[str]:
    lines: list[str] = []
    for example in doctest.DocTestParser().get_examples(inspect.getdoc(obj) or ""):
        source = example.source.rstrip("\n").split("\n")
        lines += [">>> " + source[0], *("... " + s for s in source[1:])]
        lines += example.want.rstrip("\n").split("\n") if example.want else []
        if len(lines) >= EXAMPLE_LINES:
            break
    return lines[:EXAMPLE_LINES]


def _signature(name: str, obj: object) -> str:
    try:
        text = str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return name
    return name + re.sub(r" at 0x[0-9a-f]+", "", text)


def _entry(qualified: str, obj: object) -> list[str]:
    kind = "class" if inspect.isclass(obj) else "module" if isinstance(obj, ModuleType) else ""
    # A class's signature is its constructor's, which for settings models is pages long.
    shown = _signature(qualified, obj) if callable(obj) and not kind else qualified
    out = [f"### `{shown}`" + (f" ({kind})" if kind else ""), "", _summary(obj), ""]
    example = _example(obj)
    out += ["```python", *example, "```", ""] if example else ["*(no example)*", ""]
    return out


def public_names(module: ModuleType) -> list[str]:
    """The names ``module`` declares public: its ``__all__``."""
    return sorted(getattr(module, "__all__", []))


def render() -> str:
    """The text of docs/api.md for the wisehub importable here."""
    import wisehub as wh

    out = [HEADER, "## `wisehub` (`wh`)", ""]
    modules: list[tuple[str, ModuleType]] = []
    for name in public_names(wh):
        obj = getattr(wh, name)
        if isinstance(obj, ModuleType) and obj.__name__ == f"wisehub.{name}":
            modules.append((name, obj))
        else:
            out += _entry(f"wh.{name}", obj)
    modules.append(("catalog", importlib.import_module("wisehub.catalog")))
    for name, module in sorted(modules):
        out += [f"## `wh.{name}`" if name != "catalog" else "## `wisehub.catalog`", "",
                _summary(module), ""]
        names = public_names(module)
        if not names:
            out += ["*(no `__all__`: its modules are imported by name)*", ""]
        for member in names:
            out += _entry(f"{module.__name__}.{member}", getattr(module, member))
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
