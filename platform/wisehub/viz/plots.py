"""One-dimensional views: histograms and spectra (log axes, fit overlays), light curves and
QC trends.

>>> import numpy as np
>>> e = np.random.default_rng(1).pareto(1.7, 1000) + 1
>>> h = histogram(e, bins=20, logx=True, logy=True, fit=lambda x: 1000 * x ** -2.7)
>>> sorted(type(el).__name__ for el in h)
['Curve', 'Histogram']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd

from wisehub.conventions import as_dataarray
from wisehub.viz._backends import styled

Model = Callable[[np.ndarray], np.ndarray]
_FIT_STYLE = {"color": "#d62728", "line_width": 2}


def _fit_curve(fit: Model, lo: float, hi: float, logx: bool, xname: str, yname: str) -> hv.Curve:
    x = np.geomspace(lo, hi, 200) if logx else np.linspace(lo, hi, 200)
    return styled(hv.Curve((x, fit(x)), xname, yname, label="fit"),
                  common={"color": _FIT_STYLE["color"]},
                  bokeh={"line_width": 2}, matplotlib={"linewidth": 2})


def _axes(logx: bool, logy: bool, width: int, **extra: Any) -> dict[str, Any]:
    return {"common": {"logx": logx, "logy": logy, **extra},
            "bokeh": {"width": width, "height": int(width * 0.6), "tools": ["hover"]}}


def histogram(values: Any, *, bins: int | np.ndarray = 40, logx: bool = False,
              logy: bool = False, fit: Model | None = None, xlabel: str = "value",
              ylabel: str = "count", title: str = "", width: int = 600) -> hv.Overlay:
    """A histogram (log-spaced bins when ``logx``) with an optional model curve ``fit(x)``.

    ``values`` is any array, a DataArray, a Dataset (its main variable) or a lineage product.

    Examples
    --------
    >>> import numpy as np
    >>> h = histogram(np.random.default_rng(0).normal(size=500), bins=10)
    >>> bars = h.get(0)
    >>> len(bars.edges), int(bars.dimension_values(1).sum())
    (11, 500)
    """
    values = np.asarray(as_dataarray(values).values, dtype=float).ravel()
    values = values[np.isfinite(values) & ((values > 0) if logx else True)]
    if values.size == 0:
        raise ValueError("histogram() got no finite values (and none > 0 for a log x axis)")
    if np.isscalar(bins):
        lo, hi = values.min(), values.max()
        bins = np.geomspace(lo, hi, int(bins) + 1) if logx else np.linspace(lo, hi, int(bins) + 1)
    counts, edges = np.histogram(values, bins=bins)
    bars = hv.Histogram((edges, counts), kdims=[xlabel], vdims=[ylabel])
    bars = styled(bars, **_axes(logx, logy, width, title=title, alpha=0.7))
    parts = [bars]
    if fit is not None:
        parts.append(_fit_curve(fit, edges[0], edges[-1], logx, xlabel, ylabel))
    return hv.Overlay(parts)


def spectrum(x: Any, y: Any, *, yerr: Any = None, logx: bool = False, logy: bool = False,
             fit: Model | None = None, xlabel: str = "x", ylabel: str = "y", title: str = "",
             width: int = 600) -> hv.Overlay:
    """A spectrum as points (with error bars) or a line, plus an optional model ``fit(x)``.

    Examples
    --------
    >>> import numpy as np
    >>> wave = np.linspace(4000.0, 7000.0, 50)
    >>> s = spectrum(wave, 1 + 0 * wave, yerr=0.1 + 0 * wave, fit=lambda x: 1 + 0 * x)
    >>> [type(el).__name__ for el in s]
    ['Scatter', 'ErrorBars', 'Curve']
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"spectrum() needs x and y of one length, got {x.shape} and {y.shape}")
    parts: list[Any] = []
    if yerr is None:
        parts.append(styled(hv.Curve((x, y), xlabel, ylabel, label="data"),
                            **_axes(logx, logy, width, title=title)))
    else:
        axes = _axes(logx, logy, width, title=title)
        axes["bokeh"]["size"] = 6
        parts.append(styled(hv.Scatter((x, y), xlabel, ylabel, label="data"), **axes,
                            matplotlib={"s": 25}))
        parts.append(hv.ErrorBars((x, y, np.asarray(yerr, dtype=float)), xlabel,
                                  [ylabel, "yerr"]))
    if fit is not None:
        parts.append(_fit_curve(fit, np.nanmin(x), np.nanmax(x), logx, xlabel, ylabel))
    return hv.Overlay(parts)


def light_curve(time: Any, flux: Any, *, err: Any = None, model: Model | None = None,
                xlabel: str = "MJD", ylabel: str = "flux", title: str = "",
                width: int = 700) -> hv.Overlay:
    """A light curve (or any time series): points with optional errors and a model curve.

    Examples
    --------
    >>> lc = light_curve([60000.0, 60001.0, 60002.0], [1.0, 0.5, 1.0], err=[0.1, 0.1, 0.1])
    >>> lc.get(0).kdims[0].name, lc.get(0).vdims[0].name
    ('MJD', 'flux')
    """
    return spectrum(time, flux, yerr=err, fit=model, xlabel=xlabel, ylabel=ylabel, title=title,
                    width=width)


def qc_trend(table: pd.DataFrame, x: str, y: str, *, by: str | None = None,
             limits: tuple[float, float] | None = None, title: str = "",
             width: int = 700) -> hv.Overlay:
    """A QC quantity against time (one line per ``by`` group), out-of-limit points in red.

    >>> t = pd.DataFrame({"night": [1, 2, 3], "bias": [300.0, 301.0, 350.0]})
    >>> len(qc_trend(t, "night", "bias", limits=(290, 310)))  # line, points, outliers, band
    4
    """
    missing = [c for c in (x, y, by) if c and c not in table.columns]
    if missing:
        raise ValueError(f"qc_trend(): columns {missing} not in the table {list(table.columns)}")
    groups = table.groupby(by, sort=True) if by else [(y, table)]
    lines = [styled(hv.Curve(g.sort_values(x), x, y, label=str(k)) * hv.Scatter(
        g.sort_values(x), x, y, label=str(k)), common={"title": title})
        for k, g in groups]
    overlay = hv.Overlay([el for line in lines for el in line])
    if limits is not None:
        lo, hi = limits
        bad = table[(table[y] < lo) | (table[y] > hi)]
        overlay *= styled(hv.Scatter(bad, x, y, label="out of limits"),
                          common={"color": "#d62728", "marker": "x"},
                          bokeh={"size": 12}, matplotlib={"s": 80})
        overlay *= hv.HSpan(lo, hi).opts(alpha=0.1)
    return styled(overlay, common={"title": title, "legend_position": "right"},
                  bokeh={"width": width, "height": int(width * 0.5)})
