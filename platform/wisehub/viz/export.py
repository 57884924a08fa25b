"""Save any viz result as interactive HTML (bokeh) or as a PNG of an exact size (matplotlib).

PNG export uses holoviews' matplotlib backend, so it needs no browser and works on servers,
Dask workers and in CI.

>>> import holoviews as hv, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "c.png"
>>> out = save(hv.Curve([1, 3, 2]), path, width=300, height=200)
>>> out.suffix, out.stat().st_size > 0
('.png', True)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import holoviews as hv

from wisehub.viz._backends import ensure_backends


def save(
    obj: Any, path: str | Path, *, width: int = 800, height: int = 500, dpi: int = 100
) -> Path:
    """Write ``obj`` to ``path``; the suffix picks the format: ``.html`` or ``.png``.

    A PNG is exactly ``width`` × ``height`` pixels. The file appears only once complete.

    Examples
    --------
    >>> import holoviews as hv
    >>> save(hv.Curve([1, 2]), "curve.html").read_text().count("<html") >= 1
    True
    >>> save(hv.Curve([1, 2]), "curve.svg")
    Traceback (most recent call last):
    ...
    ValueError: cannot save curve.svg: use a .png or .html file name
    """
    ensure_backends()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html"):
        raise ValueError(f"cannot save {path.name}: use a .png or .html file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.partial{suffix}")
    try:
        if suffix == ".html":
            hv.save(obj, partial, backend="bokeh", title=path.stem)
        else:
            _save_png(obj, partial, width, height, dpi)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _save_png(obj: Any, path: Path, width: int, height: int, dpi: int) -> None:
    import matplotlib.pyplot as plt

    fig = hv.render(obj, backend="matplotlib")
    try:
        fig.set_size_inches(width / dpi, height / dpi)
        fig.set_layout_engine("tight")  # keep axis labels inside the exact canvas
        with warnings.catch_warnings():  # holoviews places colorbar axes itself; that is fine
            warnings.filterwarnings("ignore", "This figure includes Axes", UserWarning)
            fig.savefig(path, dpi=dpi, format="png")
    finally:
        plt.close(fig)
