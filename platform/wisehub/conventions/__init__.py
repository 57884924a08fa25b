"""Conventions with one owner: where an image keeps its WCS, its units and its product link.

Importing the package registers the ``.wise`` accessor on DataArrays and Datasets
(:mod:`wisehub.conventions.accessor`).

>>> import numpy as np, xarray as xr, wisehub.conventions
>>> xr.DataArray(np.zeros(2), attrs={"units": "electron"}).wise.unit
Unit("electron")
"""

from wisehub.conventions.accessor import (
    PID_ATTR,
    WiseArray,
    WiseDataset,
    as_dataarray,
    main_variable,
)
from wisehub.conventions.units import UNITS_ATTR, parse_unit, unit_of, unit_string, with_unit
from wisehub.conventions.wcs import (
    WCS_COORD,
    WCSError,
    celestial,
    header_wcs,
    parse_wcs,
    to_header_string,
)

__all__ = [
    "PID_ATTR",
    "UNITS_ATTR",
    "WCS_COORD",
    "WCSError",
    "WiseArray",
    "WiseDataset",
    "as_dataarray",
    "celestial",
    "header_wcs",
    "main_variable",
    "parse_unit",
    "parse_wcs",
    "to_header_string",
    "unit_of",
    "unit_string",
    "with_unit",
]
