"""Integral-field cubes from FITS (wavelength, y, x) as xarray, with a wavelength axis."""

from __future__ import annotations

import os

import numpy as np
import xarray as xr
from astropy.io import fits

from wisehub.conventions.units import UNITS_ATTR, unit_string
from wisehub.conventions.wcs import WCS_COORD, parse_wcs, to_header_string
from wisehub.ingest.headers import IngestError


def read_cube_fits(path: str | os.PathLike) -> xr.Dataset:
    """Read a 3-D FITS cube into a Dataset with a ``wavelength`` coordinate in Ångström.

    The spatial WCS is the scalar ``WCSHDR`` coordinate and ``BUNIT`` the flux's ``units``
    (:mod:`wisehub.conventions`).

    >>> from wisehub.samples.ifu import make_cube
    >>> import tempfile
    >>> path = tempfile.mkdtemp() + "/cube.fits"
    >>> make_cube(8, 20.0, 0.03, seed=1).writeto(path)
    >>> cube = read_cube_fits(path)
    >>> cube.flux.dims, cube.flux.wise.wcs.has_celestial
    (('wavelength', 'y', 'x'), True)
    """
    try:
        with fits.open(path) as hdul:
            header, data = hdul[0].header, np.asarray(hdul[0].data)
    except (OSError, ValueError) as err:
        raise IngestError(f"{path}: not a readable FITS cube ({err})") from None
    if header.get("NAXIS") != 3 or "CRVAL3" not in header:
        raise IngestError(f"{path}: expected a 3-D cube with a spectral axis (CRVAL3/CD3_3)")
    step = header.get("CD3_3", header.get("CDELT3"))
    wave = header["CRVAL3"] + (np.arange(header["NAXIS3"]) + 1 - header["CRPIX3"]) * step
    spatial = parse_wcs(header.tostring()).celestial
    attrs = {k.lower(): header[k] for k in ("OBJECT", "INSTRUME") if k in header}
    units = {UNITS_ATTR: unit_string(header["BUNIT"])} if "BUNIT" in header else {}
    return xr.Dataset(
        {"flux": (("wavelength", "y", "x"), data, units)},
        coords={"wavelength": ("wavelength", wave, {UNITS_ATTR: "Angstrom"}),
                WCS_COORD: ((), to_header_string(spatial))},
        attrs=attrs,
    )
