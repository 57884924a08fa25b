"""VOTable and FITS export of table and image products, with provenance in the headers.

A *table* is a Dataset whose variables all lie along one dimension (the galaxy table, the
air-shower events, source lists); an *image* is a 2-D variable (a master bias, a reduced
frame). FITS images keep their WCS (a ``wcs`` attribute or a ``WCSHDR`` coordinate holding a
FITS header string, as ingest writes them) and gain provenance keywords: the product's
persistent id, type, owner, recipe, code version and the ids of its inputs.

>>> import numpy as np, xarray as xr, tempfile, pathlib
>>> from astropy.table import Table
>>> ds = xr.Dataset({"distance_mpc": ("galaxy", [10.0, 20.0])},
...                 coords={"galaxy": ["A", "B"]})
>>> out = pathlib.Path(tempfile.mkdtemp()) / "g.xml"
>>> votable(ds, out) == out, Table.read(out)["galaxy"].tolist()
(True, ['A', 'B'])
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from astropy.io import fits as afits
from astropy.io import votable as avotable
from astropy.table import Table

from wisehub.lineage.product import ProductView


class ExportError(ValueError):
    """The data cannot be exported as asked; the message says what it is and what fits."""


def _dataset(source: ProductView | xr.Dataset | xr.DataArray) -> xr.Dataset:
    if isinstance(source, ProductView):
        return source.open()
    if isinstance(source, xr.DataArray):
        return source.to_dataset(name=source.name or "data")
    return source


def table(source: ProductView | xr.Dataset) -> Table:
    """An astropy Table of a table product (every variable along one dimension)."""
    ds = _dataset(source)
    dims = {d for v in ds.variables.values() for d in v.dims}
    if len(dims) != 1:
        raise ExportError(f"a table has its variables along one dimension; this data has "
                          f"{sorted(dims) or 'none'} (export an image with fits())")
    columns = {name: np.asarray(var.values) for name, var in ds.variables.items()}
    out = Table(columns)
    for name, var in ds.variables.items():
        unit = var.attrs.get("units") or var.attrs.get("unit")
        if unit:
            out[name].unit = unit
    return out


def votable(source: ProductView | xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write a table product as a VOTable file; return the path."""
    out = Path(path)
    document = avotable.from_table(table(source))
    _describe(document.get_first_table(), _provenance(source))
    document.to_xml(str(out))
    return out


def _describe(element: Any, provenance: Mapping[str, str]) -> None:
    element.description = "; ".join(f"{k}={v}" for k, v in provenance.items()) or None


def fits(source: ProductView | xr.Dataset | xr.DataArray, path: str | os.PathLike[str], *,
         variable: str | None = None) -> Path:
    """Write a table product as a FITS binary table, or an image as a FITS image with WCS
    and provenance keywords; return the path."""
    ds = _dataset(source)
    out = Path(path)
    provenance = _provenance(source)
    images = [n for n, v in ds.data_vars.items() if v.ndim == 2]
    if variable is None and not images:
        hdu: afits.PrimaryHDU | afits.BinTableHDU = afits.BinTableHDU(table(ds))
        hdus = afits.HDUList([afits.PrimaryHDU(), hdu])
    else:
        name = variable or images[0]
        if name not in ds.data_vars or ds[name].ndim != 2:
            raise ExportError(f"{name!r} is not a 2-D image variable; images here: "
                              f"{', '.join(images) or 'none'}")
        image = ds[name]
        header = _wcs_header(image)
        header["BUNIT"] = str(image.attrs.get("units", ""))
        hdus = afits.HDUList([afits.PrimaryHDU(np.asarray(image.values), header=header)])
        hdu = hdus[0]
    for key, value in provenance.items():
        hdu.header[key] = value
    for key, value in _inputs(source).items():
        hdu.header[key] = value
    hdus.writeto(out, overwrite=False)
    return out


def _wcs_header(image: xr.DataArray) -> afits.Header:
    text = image.attrs.get("wcs")
    if text is None and "WCSHDR" in image.coords and image.coords["WCSHDR"].ndim == 0:
        text = str(image.coords["WCSHDR"].values)
    return afits.Header.fromstring(text) if text else afits.Header()


def _provenance(source: Any) -> dict[str, str]:
    if not isinstance(source, ProductView):
        return {}
    return {k: v for k, v in {"WHPID": source.pid, "WHTYPE": source.type,
                              "WHOWNER": source.owner, "WHCODE": source.code_version or "",
                              "WHPROC": source.process_pid or ""}.items() if v}


def _inputs(source: Any) -> dict[str, str]:
    """``WHINP001``… keywords naming the products the product was made from."""
    if not isinstance(source, ProductView) or source.store is None:
        return {}
    pids = [p.pid for views in source.inputs().values() for p in views]
    return {f"WHINP{i + 1:03d}": pid for i, pid in enumerate(pids[:999])}
