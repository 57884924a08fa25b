"""Display stretches for astronomical images: zscale or percentile limits, then asinh/linear/….

Limits come from a strided subsample, so they cost the same for a 4k × 4k dask array as for a
thumbnail; the stretch itself is applied element-wise and stays lazy on dask arrays.

>>> import numpy as np
>>> img = np.arange(100.0).reshape(10, 10)
>>> s = stretch(img, "linear", interval="minmax")
>>> float(s.min()), float(s.max())
(0.0, 1.0)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from astropy import visualization as av

Stretch = Literal["asinh", "linear", "sqrt", "log"]
Interval = Literal["zscale", "minmax"] | float

_STRETCHES = {
    "asinh": av.AsinhStretch,
    "linear": av.LinearStretch,
    "sqrt": av.SqrtStretch,
    "log": av.LogStretch,
}
_SAMPLE_PIXELS = 250_000


def _subsample(data) -> np.ndarray:
    """A regular subsample of at most ~250k finite pixels, as a numpy array."""
    step = max(1, int(np.ceil(np.sqrt(data.size / _SAMPLE_PIXELS))))
    sample = data[(slice(None, None, step),) * data.ndim]
    sample = np.asarray(sample.compute() if hasattr(sample, "compute") else sample, dtype=float)
    return sample[np.isfinite(sample)]


def limits(data, interval: Interval = "zscale") -> tuple[float, float]:
    """Display limits of ``data``: ``"zscale"`` (IRAF), ``"minmax"`` or a percentile like 99.5.

    >>> limits(np.arange(101.0), 90.0)
    (5.0, 95.0)
    """
    sample = _subsample(data)
    if sample.size == 0:
        raise ValueError("cannot choose display limits: the image has no finite pixels")
    if interval == "zscale":
        chooser = av.ZScaleInterval()
    elif interval == "minmax":
        chooser = av.MinMaxInterval()
    elif isinstance(interval, int | float) and 0 < interval <= 100:
        chooser = av.PercentileInterval(float(interval))
    else:
        raise ValueError(
            f"interval {interval!r} is not known: "
            "use 'zscale', 'minmax' or a percentile in (0, 100]"
        )
    lo, hi = chooser.get_limits(sample)
    return float(lo), float(hi)


def stretch(data, kind: Stretch = "asinh", *, interval: Interval = "zscale",
            vmin: float | None = None, vmax: float | None = None):
    """Map ``data`` to [0, 1]: clip to the limits, then apply the named stretch.

    Works on numpy, dask and xarray arrays (xarray keeps its coordinates).

    >>> float(stretch(np.array([0.0, 5.0, 10.0]), "linear", vmin=0, vmax=10)[1])
    0.5
    """
    if kind not in _STRETCHES:
        raise ValueError(f"stretch {kind!r} is not known: use one of {sorted(_STRETCHES)}")
    if vmin is None or vmax is None:
        lo, hi = limits(data, interval)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    span = (vmax - vmin) or 1.0
    scaled = ((data - vmin) / span).clip(0.0, 1.0)
    func = _STRETCHES[kind]()
    if hasattr(scaled, "dims"):  # xarray: keep coordinates and attributes
        return scaled.copy(data=_apply(func, scaled.data))
    return _apply(func, scaled)


def _apply(func: av.BaseStretch, values):
    """Apply an astropy stretch, lazily block by block on dask arrays."""
    if hasattr(values, "map_blocks"):
        return values.map_blocks(lambda block: func(block, clip=True), dtype=np.float32)
    return func(np.asarray(values, dtype=np.float32), clip=True)
