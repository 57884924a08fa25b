"""The ``.wise`` accessor: an image's WCS, pixel units and lineage product, in one place.

No other module needs to know where these are kept: the WCS is the ``WCSHDR`` coordinate
(:mod:`wisehub.conventions.wcs`), the unit is the ``units`` attribute
(:mod:`wisehub.conventions.units`) and the product's persistent id is the ``pid``
attribute, set when a lineage product is opened.

>>> import numpy as np, xarray as xr
>>> from astropy.wcs import WCS
>>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.crval = [150.0, 2.0]
>>> img = xr.DataArray(np.ones((4, 4), "f4"), dims=("y", "x")).wise.with_wcs(w)
>>> img = img.wise.with_unit("adu")
>>> (img * 2).mean("x").wise.wcs.wcs.crval.tolist(), str(img.wise.unit)
([150.0, 2.0], 'adu')
"""

from __future__ import annotations

from typing import Any

import astropy.units as u
import numpy as np
import xarray as xr
from astropy.wcs import WCS

from wisehub.conventions.units import unit_of, with_unit
from wisehub.conventions.wcs import WCS_COORD, WCSError, celestial, to_header_string

PID_ATTR = "pid"
"""The attribute naming the lineage product (its persistent id) that the data came from."""

FRAME = "frame"


@xr.register_dataarray_accessor("wise")
class WiseArray:
    """``da.wise``: the WCS, units and product link of a DataArray."""

    def __init__(self, data: xr.DataArray) -> None:
        self._data = data

    @property
    def wcs(self) -> WCS | None:
        """The celestial WCS of the image (None when it has none).

        A stack whose frames have different WCSs has no single one: use :meth:`frame_wcs`.
        """
        if WCS_COORD not in self._data.coords:
            return None
        values = np.unique(np.asarray(self._data.coords[WCS_COORD].values).astype(str).ravel())
        if len(values) != 1:
            raise WCSError(f"the {len(values)} frames have different WCSs; select one frame "
                           "(.isel(frame=i)) or use .wise.frame_wcs(i)")
        return celestial(str(values[0])) if values[0] else None

    def frame_wcs(self, index: int | str = 0) -> WCS:
        """The celestial WCS of one frame of a stack, by position or frame id.

        >>> import numpy as np, xarray as xr
        >>> xr.DataArray(np.ones((1, 2, 2)), dims=("frame", "y", "x"),
        ...              coords={"WCSHDR": ("frame", [""])}).wise.frame_wcs(0)
        Traceback (most recent call last):
        ...
        wisehub.conventions.wcs.WCSError: frame 0 has no WCS (its WCSHDR is empty)
        """
        if WCS_COORD not in self._data.coords:
            raise WCSError(f"the frames have no {WCS_COORD} coordinate (each frame's WCS as a "
                           "FITS header string); ingest them with their WCS")
        coord = self._data.coords[WCS_COORD]
        if FRAME in coord.dims:
            coord = coord.sel({FRAME: index}) if isinstance(index, str) \
                else coord.isel({FRAME: index})
        return celestial(str(coord.values), f"frame {index!r}" if isinstance(index, str)
                         else f"frame {index}")

    def with_wcs(self, wcs: WCS | None) -> xr.DataArray:
        """A copy whose WCS (one for the whole image) is ``wcs``."""
        return self._data.assign_coords({WCS_COORD: ((), to_header_string(wcs))})

    @property
    def unit(self) -> u.UnitBase | None:
        """The pixels' astropy unit (None when undeclared)."""
        return unit_of(self._data)

    def with_unit(self, unit: str | u.UnitBase) -> xr.DataArray:
        """A copy that declares its pixels in ``unit`` (values unchanged)."""
        return with_unit(self._data, unit)

    @property
    def pid(self) -> str | None:
        """The persistent id of the lineage product the data came from, if any."""
        return self._data.attrs.get(PID_ATTR)

    def with_pid(self, pid: str) -> xr.DataArray:
        """A copy linked to the lineage product ``pid``."""
        return self._data.assign_attrs({PID_ATTR: pid})


@xr.register_dataset_accessor("wise")
class WiseDataset:
    """``ds.wise``: the image of a product's Dataset, and its product link.

    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"data": (("y", "x"), np.zeros((2, 2)))}).wise.with_pid("p-1")
    >>> ds.wise.image.wise.pid
    'p-1'
    """

    def __init__(self, data: xr.Dataset) -> None:
        self._data = data

    @property
    def image(self) -> xr.DataArray:
        """The main variable: ``data``, or the only data variable."""
        return main_variable(self._data)

    @property
    def wcs(self) -> WCS | None:
        """The celestial WCS of the main variable (None when it has none)."""
        return self.image.wise.wcs

    @property
    def pid(self) -> str | None:
        """The persistent id of the lineage product, if the Dataset came from one."""
        return self._data.attrs.get(PID_ATTR)

    def with_pid(self, pid: str) -> xr.Dataset:
        """A copy linked to product ``pid``: the Dataset and each of its data variables."""
        ds = self._data.assign_attrs({PID_ATTR: pid})
        for name in ds.data_vars:
            ds[name] = ds[name].assign_attrs({PID_ATTR: pid})
        return ds


def main_variable(ds: xr.Dataset) -> xr.DataArray:
    """``ds["data"]``, or the only data variable; the Dataset's product link comes along.

    >>> import numpy as np, xarray as xr
    >>> main_variable(xr.Dataset({"flux": ("x", np.zeros(2))})).name
    'flux'
    """
    if "data" in ds.data_vars:
        name = "data"
    elif len(ds.data_vars) == 1:
        name = next(iter(ds.data_vars))
    else:
        raise ValueError(f"the Dataset has variables {sorted(map(str, ds.data_vars))} and none "
                         "is called 'data'; pass the variable you mean, e.g. ds['name']")
    array = ds[name]
    return array.assign_attrs({PID_ATTR: ds.attrs[PID_ATTR]}) if PID_ATTR in ds.attrs \
        else array


def as_dataarray(data: Any) -> xr.DataArray:
    """A DataArray from what a user holds: a DataArray, a Dataset (its main variable), a
    lineage product (anything with ``.open()``) or an array.

    >>> import numpy as np
    >>> as_dataarray(np.zeros((2, 3))).dims
    ('dim_0', 'dim_1')
    """
    if not isinstance(data, (xr.DataArray, xr.Dataset, np.ndarray)) and callable(
            getattr(type(data), "open", None)):
        data = data.open()
    if isinstance(data, xr.Dataset):
        return main_variable(data)
    return data if isinstance(data, xr.DataArray) else xr.DataArray(data)
