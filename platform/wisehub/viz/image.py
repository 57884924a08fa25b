"""Astronomical images: zscale/asinh stretch, RA/Dec tick labels and datashader rasterisation.

>>> import numpy as np
>>> img = image(np.random.default_rng(0).normal(100, 5, (64, 64)))
>>> type(img).__name__
'Image'
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import xarray as xr
from astropy.wcs import WCS

from wisehub.conventions import as_dataarray
from wisehub.viz._backends import styled
from wisehub.viz.sky import sky_ticks
from wisehub.viz.stretch import Interval, Stretch, limits, stretch

RASTERIZE_ABOVE = 1_000_000
"""Images with more pixels than this are rasterised with datashader (re-aggregated on zoom)."""


def _as_2d(data: Any) -> xr.DataArray:
    """A 2-D DataArray with 0-based pixel coordinates ``y``, ``x`` (row 0 at the bottom)."""
    arr = as_dataarray(data)
    if arr.ndim > 2:  # a stack of one frame (e.g. a reduced product) is that frame
        arr = arr.squeeze([d for d in arr.dims[:-2] if arr.sizes[d] == 1])
    if arr.ndim != 2:
        dims = ", ".join(f"{d}={n}" for d, n in arr.sizes.items())
        raise ValueError(
            f"image() needs a 2-D array but got dims ({dims}); select one frame first, "
            "e.g. ds['data'].isel(frame=0)"
        )
    ny, nx = arr.shape
    scalars = {name: c for name, c in arr.coords.items() if c.ndim == 0}
    return xr.DataArray(
        arr.data,
        dims=("y", "x"),
        coords={"y": np.arange(ny), "x": np.arange(nx), **scalars},
        name="value",
        attrs=arr.attrs,
    )


def image(
    data: Any,
    *,
    wcs: WCS | None = None,
    stretch_kind: Stretch = "asinh",
    interval: Interval = "zscale",
    cmap: str = "gray",
    title: str = "",
    width: int = 500,
    rasterize: bool | None = None,
) -> hv.Image | hv.DynamicMap:
    """Show a 2-D frame with a display stretch, and RA/Dec labels when a WCS is known.

    ``data`` is a numpy/dask array, a 2-D DataArray (e.g. one frame of an ingested dataset), a
    Dataset with a ``data`` variable, or a lineage product (``wh.viz.image(flat)``); the WCS
    comes from the data (``da.wise.wcs``) unless ``wcs`` is given. Images larger
    than :data:`RASTERIZE_ABOVE` pixels (or with ``rasterize=True``) are rasterised with
    datashader, so a 4k × 4k frame stays interactive; the result is then a DynamicMap.

    >>> image(np.ones((8, 8)), stretch_kind="linear", interval="minmax").vdims[0].name
    'value'
    """
    arr = _as_2d(data)
    wcs = wcs if wcs is not None else arr.wise.wcs
    lo, hi = limits(arr.data, interval)
    vdim = hv.Dimension("value", label=f"{stretch_kind} [{lo:.4g}, {hi:.4g}]")
    common: dict[str, Any] = {"cmap": cmap, "colorbar": True, "clim": (0.0, 1.0), "title": title}
    if wcs is not None:
        ticks = sky_ticks(wcs, arr.shape)
        common |= {"xticks": ticks.x, "yticks": ticks.y,
                   "xlabel": ticks.xlabel, "ylabel": ticks.ylabel}
    if rasterize is None:
        rasterize = arr.size > RASTERIZE_ABOVE
    if rasterize:  # aggregate first, then stretch only the pixels on screen
        from holoviews.operation.datashader import rasterize as ds_rasterize

        height = max(1, width * arr.shape[0] // arr.shape[1])
        view = ds_rasterize(hv.Image(arr, kdims=["x", "y"], vdims=[vdim]), width=width,
                            height=height).apply(_stretched, kind=stretch_kind, lo=lo, hi=hi)
    else:
        view = hv.Image(stretch(arr, stretch_kind, vmin=lo, vmax=hi), kdims=["x", "y"],
                        vdims=[vdim])
    return styled(
        view,
        common=common,
        bokeh={"frame_width": width, "data_aspect": 1, "tools": ["hover"]},
        matplotlib={"aspect": "equal"},
    )


def _stretched(img: hv.Image, kind: Stretch, lo: float, hi: float) -> hv.Image:
    """A rasterised image with the display stretch applied to its (few) pixels."""
    values = img.data["value"]
    return img.clone(img.data.assign(value=stretch(values, kind, vmin=lo, vmax=hi)))
