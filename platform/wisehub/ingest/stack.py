"""Many FITS frames as one lazy, dask-backed xarray Dataset (dims ``frame, y, x``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np
import xarray as xr
from astropy.io import fits

from wisehub.conventions.units import UNITS_ATTR
from wisehub.conventions.wcs import WCS_COORD
from wisehub.ingest.headers import FrameHeader, IngestError, read_frame_header
from wisehub.storage.layoutadvice import reduction_chunks

SORT_KEYS = ("NIGHT", "CHIP", "IMAGETYP", "FILTER", "MJD-OBS")
SHA256_COORD = "fits_sha256"
"""Per-frame coordinate: the SHA-256 (hex) of the FITS file the frame was ingested from."""


def _read_block(paths: Sequence[str], y0: int, y1: int, dtype: str) -> np.ndarray:
    out = np.empty((len(paths), y1 - y0, 0), dtype=dtype)
    for i, path in enumerate(paths):
        try:
            with fits.open(path, memmap=False) as hdul:
                rows = hdul[0].section[y0:y1, :]
        except (OSError, ValueError) as err:
            raise IngestError(f"{path}: cannot read pixels ({err})") from None
        if i == 0:
            out = np.empty((len(paths), *rows.shape), dtype=dtype)
        out[i] = rows
    return out


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, hex.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"
    >>> _ = p.write_bytes(b"abc")
    >>> file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as err:
        raise IngestError(f"{path}: cannot read the file ({err.strerror})") from None


def _coordinate(values: list[object]) -> np.ndarray:
    present = [v for v in values if v is not None]
    numeric = all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present
    )
    if present and numeric:
        if all(isinstance(v, (int, np.integer)) for v in present) and len(present) == len(values):
            return np.asarray(values, dtype=np.int64)
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.asarray(["" if v is None else str(v) for v in values], dtype=str)


def open_fits_stack(
    paths: Sequence[str | os.PathLike], chunks: tuple[int, int, int] | None = None
) -> xr.Dataset:
    """Open FITS frames lazily as one Dataset; headers are checked before any pixel is read.

    Frames are sorted by night, chip, type, filter and time, so that frames reduced together
    sit together in the chunks. Header keywords become per-frame coordinates named as in FITS,
    each frame's WCS is kept as a header string in ``WCSHDR`` and ``BUNIT`` becomes the ``units``
    attribute (:mod:`wisehub.conventions`). Each file's SHA-256 becomes the
    :data:`SHA256_COORD` coordinate, so the registered raw frames can carry it.

    >>> import tempfile
    >>> from wisehub.samples import make_ccd_fits
    >>> files = make_ccd_fits(tempfile.mkdtemp(), size=48, nights=1, chips=1)
    >>> ds = open_fits_stack(files)
    >>> ds.data.dims, str(ds.data.dtype)
    (('frame', 'y', 'x'), 'uint16')
    """
    if not paths:
        raise IngestError("no FITS files given; pass at least one file")
    headers = [read_frame_header(p) for p in paths]
    _check_consistent(headers)
    headers.sort(key=lambda h: tuple(str(h.keywords.get(k, "")) for k in SORT_KEYS))
    ny, nx = headers[0].shape
    dtype = np.dtype(headers[0].dtype).newbyteorder("=")
    fc, fy, _ = chunks or reduction_chunks(len(headers), ny, nx, dtype.itemsize)
    files = [str(h.path) for h in headers]
    blocks = [
        [
            [
                da.from_delayed(
                    dask.delayed(_read_block)(files[f0 : f0 + fc], y0, min(ny, y0 + fy), dtype.str),
                    shape=(len(files[f0 : f0 + fc]), min(ny, y0 + fy) - y0, nx),
                    dtype=dtype,
                )
            ]
            for y0 in range(0, ny, fy)
        ]
        for f0 in range(0, len(files), fc)
    ]
    data = da.block(blocks)
    names = sorted({k for h in headers for k in h.keywords})
    frame_ids = [str(h.keywords.get("FRAMEID", h.path.stem)) for h in headers]
    if len(set(frame_ids)) != len(frame_ids):
        raise IngestError(
            "two files share one frame id (FRAMEID or file name); ingest each exposure once"
        )
    coords = {k: ("frame", _coordinate([h.keywords.get(k) for h in headers])) for k in names}
    coords[WCS_COORD] = ("frame", np.asarray([h.wcs_header for h in headers], dtype=str))
    coords["frame"] = ("frame", np.asarray(frame_ids, dtype=str))
    coords[SHA256_COORD] = ("frame", np.asarray([file_sha256(f) for f in files], dtype=str))
    first = headers[0].keywords
    attrs = {
        "instrument": str(first.get("INSTRUME", "")),
        "telescope": str(first.get("TELESCOP", "")),
        "history": [f"ingested {len(files)} FITS frames with wisehub"],
    }
    return xr.Dataset(
        {"data": (("frame", "y", "x"), data, {UNITS_ATTR: headers[0].unit})},
        coords=coords,
        attrs=attrs,
    )


def _check_consistent(headers: list[FrameHeader]) -> None:
    first = headers[0]
    for h in headers[1:]:
        if h.unit != first.unit:
            raise IngestError(f"{h.path}: BUNIT {h.unit!r} differs from {first.path} "
                              f"({first.unit!r}); ingest frames of one unit together")
        if h.shape != first.shape or h.dtype != first.dtype:
            raise IngestError(
                f"{h.path}: shape {h.shape} dtype {h.dtype} differs from {first.path} "
                f"({first.shape} {first.dtype}); ingest frames of one format together"
            )
