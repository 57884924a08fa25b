"""A data-cube explorer: the image at a chosen wavelength (slider) and the spectrum at a pixel
(click on the image, or the ``pixel`` stream).

>>> import numpy as np, xarray as xr
>>> cube = xr.DataArray(np.random.default_rng(0).random((20, 8, 8)), dims=("wavelength", "y", "x"),
...                     coords={"wavelength": np.linspace(5000, 6000, 20)})
>>> view = cube_explorer(cube)
>>> view.select(x=3, y=4).data.shape
(20,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import holoviews as hv
import numpy as np
import xarray as xr

from wisehub.conventions import as_dataarray
from wisehub.viz._backends import styled
from wisehub.viz.stretch import limits


@dataclass
class CubeExplorer:
    """The linked views of a cube; show ``.layout`` in a notebook."""

    cube: xr.DataArray
    pixel: hv.streams.Tap
    layout: hv.Layout

    def select(self, x: int, y: int) -> xr.DataArray:
        """Move the selected pixel (as a click does) and return its spectrum."""
        self.pixel.event(x=x, y=y)
        return spectrum_at(self.cube, x, y)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.layout._repr_mimebundle_(include, exclude)


def _as_cube(cube: Any, spectral: str) -> xr.DataArray:
    cube = as_dataarray(cube)
    if cube.ndim != 3 or spectral not in cube.dims:
        raise ValueError(
            f"cube_explorer() needs a 3-D cube with a {spectral!r} dim, got dims {cube.dims}"
        )
    other = [d for d in cube.dims if d != spectral]
    cube = cube.transpose(spectral, *other)
    ny, nx = cube.shape[1:]
    return cube.rename(dict(zip(other, ("y", "x"), strict=True))).assign_coords(
        y=np.arange(ny), x=np.arange(nx))


def spectrum_at(cube: xr.DataArray, x: float, y: float) -> xr.DataArray:
    """The spectrum of the pixel nearest (x, y), clipped to the cube.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.arange(24.0).reshape(2, 3, 4), dims=("wavelength", "y", "x"))
    >>> spectrum_at(cube, x=9.0, y=1.2).values.tolist()  # x is clipped to the last column
    [7.0, 19.0]
    """
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    ix, iy = int(np.clip(round(x), 0, nx - 1)), int(np.clip(round(y), 0, ny - 1))
    return cube.isel(x=ix, y=iy).load()


def cube_explorer(cube: Any, *, spectral: str = "wavelength", cmap: str = "viridis",
                  width: int = 400) -> CubeExplorer:
    """Link a wavelength slider to the image and a click on the image to the spectrum.

    ``cube`` is a DataArray, a Dataset (its only variable) or a lineage product.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.random.default_rng(0).random((5, 4, 4)),
    ...                     dims=("wavelength", "y", "x"),
    ...                     coords={"wavelength": np.linspace(6500.0, 6600.0, 5)})
    >>> type(cube_explorer(cube)).__name__
    'CubeExplorer'
    """
    cube = _as_cube(cube, spectral)
    waves = cube[spectral].values
    lo, hi = limits(cube.data, 99.5)
    ny, nx = cube.shape[1:]

    def frame(wavelength: float) -> hv.Image:
        plane = cube.sel({spectral: wavelength}, method="nearest").load()
        return styled(hv.Image(plane, kdims=["x", "y"], vdims=["flux"]),
                      common={"cmap": cmap, "clim": (lo, hi), "colorbar": True,
                              "title": f"{spectral} {wavelength:.1f}"},
                      bokeh={"frame_width": width, "data_aspect": 1, "tools": ["tap", "hover"]},
                      matplotlib={"aspect": "equal"})

    images = hv.DynamicMap(frame, kdims=[hv.Dimension(spectral, values=list(waves))])
    pixel = hv.streams.Tap(source=images, x=nx // 2, y=ny // 2)

    def spectrum(x: float, y: float) -> hv.Curve:
        spec = spectrum_at(cube, x, y)
        return styled(hv.Curve((waves, spec.values), spectral, "flux"),
                      common={"title": f"pixel x={int(spec.x)}, y={int(spec.y)}"},
                      bokeh={"width": int(width * 1.5), "height": width, "tools": ["hover"]})

    spectra = hv.DynamicMap(spectrum, streams=[pixel])
    return CubeExplorer(cube, pixel, (images + spectra).cols(2))
