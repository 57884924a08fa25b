"""Pixel units: one convention, the ``units`` attribute, read as an astropy unit.

The attribute is CF's (xarray and hvplot label axes with it); FITS ``BUNIT`` becomes it at
ingest. Raw CCD frames are ``adu``; calibration steps update it (``adu`` − bias stays
``adu``, × gain gives ``electron``), and check it the way ccdproc does.

>>> import numpy as np, xarray as xr
>>> da = with_unit(xr.DataArray(np.zeros(2)), "ADU")
>>> da.attrs["units"], unit_of(da)
('adu', Unit("adu"))
"""

from __future__ import annotations

import warnings

import astropy.units as u
import xarray as xr

UNITS_ATTR = "units"


def parse_unit(text: str | u.UnitBase) -> u.UnitBase:
    """An astropy unit from a unit string; FITS-style upper case (``ADU``) is accepted.

    >>> parse_unit("ADU / s")
    Unit("adu / s")
    """
    if isinstance(text, u.UnitBase):
        return text
    with warnings.catch_warnings():  # FITS-style spellings ("erg/s/cm2/Angstrom") are fine
        warnings.simplefilter("ignore", u.UnitsWarning)
        for candidate in (text, text.lower()):
            try:
                return u.Unit(candidate)
            except ValueError:
                continue
        return u.Unit(text, parse_strict="silent")  # kept by name, compared by name


def unit_of(data: xr.DataArray) -> u.UnitBase | None:
    """The unit of ``data``'s pixels, or None when it declares none.

    >>> import numpy as np, xarray as xr
    >>> unit_of(xr.DataArray(np.zeros(2))) is None
    True
    """
    text = data.attrs.get(UNITS_ATTR)
    return None if text is None else parse_unit(str(text))


def unit_string(unit: str | u.UnitBase) -> str:
    """The ``units`` attribute value of a unit (astropy's generic format).

    >>> unit_string("electron2")
    'electron2'
    """
    return parse_unit(unit).to_string()


def with_unit(data: xr.DataArray, unit: str | u.UnitBase) -> xr.DataArray:
    """A shallow copy of ``data`` whose pixels are in ``unit`` (the data are not converted).

    Examples
    --------
    >>> import numpy as np, xarray as xr, astropy.units as u
    >>> flux = with_unit(xr.DataArray(np.ones(2)), u.electron / u.s)
    >>> flux.wise.unit, flux.values.tolist()
    (Unit("electron / s"), [1.0, 1.0])
    """
    return data.assign_attrs({UNITS_ATTR: unit_string(unit)})
