"""Integral-field cubes from FITS (wavelength, y, x) as xarray, with a wavelength axis."""

from __future__ import annotations

import os

import numpy as np
import xarray as xr
from astropy.io import fits
from astropy.wcs import WCS

from wisehub.ingest.headers import IngestError


def read_cube_fits(path: str | os.PathLike) -> xr.Dataset:
    """Read a 3-D FITS cube into a Dataset with a ``wavelength`` coordinate in Ångström.

    The spatial WCS is kept as a header string in the ``wcs`` attribute.

    >>> from wisehub.samples.ifu import make_cube
    >>> make_cube(8, 20.0, 0.03, seed=1).writeto("/tmp/wh-doc-cube.fits", overwrite=True)
    >>> read_cube_fits("/tmp/wh-doc-cube.fits").flux.dims
    ('wavelength', 'y', 'x')
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
    spatial = WCS(header).celestial.to_header()
    attrs = {k.lower(): header[k] for k in ("OBJECT", "INSTRUME", "BUNIT") if k in header}
    attrs["wcs"] = spatial.tostring()
    return xr.Dataset(
        {"flux": (("wavelength", "y", "x"), data, {"units": header.get("BUNIT", "")})},
        coords={"wavelength": ("wavelength", wave, {"units": "Angstrom"})},
        attrs=attrs,
    )
