"""Register holoviews' bokeh and matplotlib backends and style an element for both.

Every viz function styles its output for both backends, so the same object is interactive in
JupyterLab (bokeh) and exports to PNG without a browser (matplotlib).
"""

from __future__ import annotations

from typing import Any, TypeVar

import holoviews as hv

T = TypeVar("T", bound=hv.core.Dimensioned)


def ensure_backends() -> None:
    """Import both plotting backends so options can be set for each (no notebook output)."""
    import holoviews.plotting.bokeh
    import holoviews.plotting.mpl  # noqa: F401


def styled(
    obj: T,
    *,
    common: dict[str, Any] | None = None,
    bokeh: dict[str, Any] | None = None,
    matplotlib: dict[str, Any] | None = None,
) -> T:
    """Apply ``common`` options to both backends plus backend-only ones; return a clone."""
    ensure_backends()
    shared = common or {}
    obj = obj.opts(**shared, **(bokeh or {}), backend="bokeh", clone=True)
    return obj.opts(**shared, **(matplotlib or {}), backend="matplotlib", clone=False)
