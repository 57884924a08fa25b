"""Where an image's world coordinate system lives, and the one parser for it.

The WCS of an image is the coordinate ``WCSHDR``: a FITS header string holding the WCS
keywords. A stack of frames has one per frame (along ``frame``); an image, a master, a coadd
or a cube has a scalar one. A coordinate (not an attribute) because xarray keeps
coordinates through selections, arithmetic and reductions, so the WCS follows the pixels.
Read it through the accessor (``da.wise.wcs``, :mod:`wisehub.conventions.accessor`).

>>> from astropy.wcs import WCS
>>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
>>> parse_wcs(to_header_string(w)).wcs.ctype[0]
'RA---TAN'
"""

from __future__ import annotations

import warnings

from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

WCS_COORD = "WCSHDR"
"""The name of the coordinate holding the WCS as a FITS header string."""


class WCSError(ValueError):
    """An image has no usable WCS; the message says which and what to do."""


def _quiet(header: fits.Header, naxis: int | None = None) -> WCS:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header, naxis=naxis)


def parse_wcs(text: str) -> WCS:
    """The WCS kept as a FITS header string (a ``WCSHDR`` value).

    >>> h = "CTYPE1  = 'RA---TAN'" + " " * 60 + "CTYPE2  = 'DEC--TAN'" + " " * 60
    >>> parse_wcs(h).has_celestial
    True
    """
    return _quiet(fits.Header.fromstring(text))


def header_wcs(header: fits.Header) -> WCS | None:
    """The 2-D WCS of a FITS image header, or None when it has no ``CTYPE1``/``CTYPE2``.

    >>> header_wcs(fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"})).naxis
    2
    >>> header_wcs(fits.Header({"EXPTIME": 1.0})) is None
    True
    """
    if "CTYPE1" not in header or "CTYPE2" not in header:
        return None
    return _quiet(header, naxis=2)


def to_header_string(wcs: WCS | None) -> str:
    """A WCS as the header string kept in ``WCSHDR`` ("" for none).

    >>> to_header_string(None)
    ''
    """
    return "" if wcs is None else wcs.to_header(relax=True).tostring()


def celestial(text: str, what: str = "the image") -> WCS:
    """The celestial (RA/Dec) part of a WCS header string, or a :class:`WCSError`.

    >>> h = "CTYPE1  = 'RA---TAN'" + " " * 60 + "CTYPE2  = 'DEC--TAN'" + " " * 60
    >>> celestial(h).naxis
    2
    """
    if not text:
        raise WCSError(f"{what} has no WCS (its {WCS_COORD} is empty)")
    wcs = parse_wcs(text)
    if not wcs.has_celestial:
        raise WCSError(f"{what} has no celestial (RA/Dec) axes in its WCS")
    return wcs.celestial
