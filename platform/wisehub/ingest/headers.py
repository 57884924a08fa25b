"""Reading and checking FITS headers before any pixel is copied."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.time import Time
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import FITSFixedWarning

from wisehub.conventions.units import unit_string
from wisehub.conventions.wcs import header_wcs, to_header_string

REQUIRED_KEYWORDS = ("IMAGETYP", "EXPTIME", "DATE-OBS")
STRUCTURAL = {
    "SIMPLE",
    "BITPIX",
    "NAXIS",
    "NAXIS1",
    "NAXIS2",
    "EXTEND",
    "BZERO",
    "BSCALE",
    "BLANK",
    "COMMENT",
    "HISTORY",
    "",
    "PCOUNT",
    "GCOUNT",
    "CHECKSUM",
    "DATASUM",
}


class IngestError(ValueError):
    """A FITS file cannot be ingested; the message names the file and what to do."""


@dataclass
class FrameHeader:
    """One file's header split into per-frame keywords, its pixel unit and its WCS."""

    path: Path
    shape: tuple[int, int]
    dtype: str
    keywords: dict[str, object]
    wcs_header: str
    unit: str


def read_frame_header(path: str | os.PathLike) -> FrameHeader:
    """Read and validate one FITS file's primary header (2-D image, complete, keywords present).

    Missing ``MJD-OBS``, ``CHIP`` and ``NIGHT`` are derived from ``DATE-OBS`` and ``DETECTOR``.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            warnings.simplefilter("ignore", VerifyWarning)  # damage is reported below instead
            warnings.simplefilter("ignore", AstropyUserWarning)
            with fits.open(path, memmap=False) as hdul:
                header = hdul[0].header.copy()
                expected = _primary_hdu_bytes(header)
                if os.path.getsize(path) >= expected and header.get("NAXIS") == 2:
                    dtype = hdul[0].section[0:1, 0:1].dtype.str
    except FileNotFoundError:
        raise IngestError(f"{path}: no such file") from None
    except (OSError, TypeError, ValueError) as err:
        raise IngestError(f"{path}: not a readable FITS file ({err})") from None
    if os.path.getsize(path) < expected:
        raise IngestError(
            f"{path}: truncated ({os.path.getsize(path)} of {expected} bytes); "
            "copy the file again from its source"
        )
    if header.get("NAXIS") != 2:
        raise IngestError(
            f"{path}: expected a 2-D image in the primary HDU, found NAXIS={header.get('NAXIS')}"
        )
    missing = [k for k in REQUIRED_KEYWORDS if k not in header]
    if "CHIP" not in header and "DETECTOR" not in header:
        missing.append("CHIP or DETECTOR")
    if missing:
        raise IngestError(
            f"{path}: missing required header keyword(s) {', '.join(missing)}; "
            "fix the header (e.g. with astropy.io.fits.setval) and ingest again"
        )
    return FrameHeader(
        path,
        (header["NAXIS2"], header["NAXIS1"]),
        dtype,
        _frame_keywords(header, path),
        to_header_string(header_wcs(header)),
        unit_string(str(header.get("BUNIT", "adu"))),  # raw CCD pixels are ADU
    )


def _primary_hdu_bytes(header: fits.Header) -> int:
    """Bytes the primary HDU needs on disk: header blocks plus padded data (FITS standard)."""
    block = 2880
    pixels = math.prod(header.get(f"NAXIS{i}", 0) for i in range(1, header.get("NAXIS", 0) + 1))
    data = abs(header.get("BITPIX", 8)) // 8 * pixels if header.get("NAXIS", 0) else 0
    return len(header.tostring()) + -(-data // block) * block


def _frame_keywords(header: fits.Header, path: Path) -> dict[str, object]:
    # WCS keywords live in WCSHDR and BUNIT in the units attribute (wisehub.conventions);
    # times stay per-frame keywords although WCS also knows them.
    wcs = header_wcs(header)
    wcs_keys = set() if wcs is None else {
        k for k in wcs.to_header(relax=True) if not k.startswith(("DATE", "MJD"))}
    keywords = {k: header[k] for k in header
                if k not in STRUCTURAL and k not in wcs_keys and k != "BUNIT"}
    try:
        start = Time(str(header["DATE-OBS"]), scale="utc")
    except ValueError:
        raise IngestError(f"{path}: DATE-OBS {header['DATE-OBS']!r} is not an ISO date") from None
    keywords.setdefault("MJD-OBS", float(start.mjd))
    keywords.setdefault("CHIP", header.get("DETECTOR"))
    keywords.setdefault("NIGHT", (start - 12 * u.hour).datetime.date().isoformat())
    return keywords
