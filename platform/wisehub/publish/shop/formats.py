"""Output formats of the shop, one writer each: HDF5 (h5py), ROOT (uproot), ASCII (ECSV
and CSV), FITS (astropy) and Parquet (pyarrow). Every file carries its provenance, licence
and citation.

A writer takes the selected columns, their units, the table's name and the metadata (plain
strings: dataset, record identifier, licence, citation, the selection as JSON, ...):

- HDF5: one dataset per column in group ``<table>`` (units as ``unit`` attributes), the
  metadata as attributes of the file;
- ROOT: a TTree ``<table>``, the metadata as JSON in the TObjString ``provenance``;
- ECSV: the metadata in the YAML header (astropy reads it back as ``Table.meta``);
- CSV: the metadata as ``# key: value`` comment lines above the header row;
- FITS: a binary table HDU ``<table>`` with the metadata as header keywords;
- Parquet: the metadata as the schema's key-value metadata, units as each field's ``unit``.

>>> import tempfile, h5py, numpy as np
>>> path = Path(tempfile.mkdtemp()) / "a.h5"
>>> WRITERS["hdf5"].write(path, {"x": np.arange(3.0)}, {"x": "m"}, "event", {"licence": "CC0-1.0"})
>>> with h5py.File(path) as f:
...     print(f["event/x"][:].sum(), f.attrs["licence"], f["event/x"].attrs["unit"])
3.0 CC0-1.0 m
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Each writer imports its library when it first writes: the shop's page lists the formats
# from the hub's process, which loads no science library for that.
Columns = Mapping[str, "np.ndarray"]
Meta = Mapping[str, str]

# FITS keywords (8 characters) of the metadata keys; long values continue (CONTINUE cards).
FITS_KEYWORDS = {"title": "TITLE", "dataset": "DATASET", "record": "RECORD",
                 "licence": "LICENSE", "licence_url": "LICURL", "creator": "CREATOR",
                 "publisher": "PUBLISHR", "citation": "CITATION", "selection": "SELECT",
                 "order": "ORDERID", "user": "ORDERBY", "created": "DATE",
                 "software": "SOFTWARE", "events": "NEVENTS", "source": "SOURCE"}


def _hdf5(path: Path, columns: Columns, units: Mapping[str, str], table: str,
          meta: Meta) -> None:
    import h5py

    with h5py.File(path, "w") as out:
        for key, value in meta.items():
            out.attrs[key] = value
        group = out.create_group(table)
        for name, values in columns.items():
            data = group.create_dataset(name, data=values, compression="gzip", shuffle=True)
            if units.get(name):
                data.attrs["unit"] = units[name]


def _root(path: Path, columns: Columns, units: Mapping[str, str], table: str,
          meta: Meta) -> None:
    import uproot

    with uproot.recreate(path) as out:
        out.mktree(table, {n: v.dtype for n, v in columns.items()},
                   title=meta.get("title", table))
        if columns:
            out[table].extend(dict(columns))
        out["provenance"] = json.dumps({**meta, "units": dict(units)})


def _table(columns: Columns, units: Mapping[str, str], meta: Meta) -> object:
    from astropy import units as u
    from astropy.table import Table

    result = Table(meta=dict(meta))
    for name, values in columns.items():
        unit = u.Unit(units[name], parse_strict="silent") if units.get(name) else None
        result[name] = values
        if unit is not None and not isinstance(unit, u.UnrecognizedUnit):
            result[name].unit = unit
    return result


def _ecsv(path: Path, columns: Columns, units: Mapping[str, str], table: str,
          meta: Meta) -> None:
    _table(columns, units, meta).write(path, format="ascii.ecsv")  # type: ignore[attr-defined]


def _csv(path: Path, columns: Columns, units: Mapping[str, str], table: str,
         meta: Meta) -> None:
    import pandas as pd

    header = "".join(f"# {key}: {' '.join(str(value).split())}\n" for key, value in meta.items())
    header += "".join(f"# unit {n}: {units[n]}\n" for n in columns if units.get(n))
    with path.open("w") as out:
        out.write(header)
        pd.DataFrame(dict(columns)).to_csv(out, index=False)


def _fits(path: Path, columns: Columns, units: Mapping[str, str], table: str,
          meta: Meta) -> None:
    from astropy.io import fits

    hdu = fits.BinTableHDU(_table(columns, units, {}), name=table.upper())  # type: ignore[arg-type]
    for key, value in meta.items():
        hdu.header[FITS_KEYWORDS.get(key, key[:8].upper())] = str(value)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)


def _parquet(path: Path, columns: Columns, units: Mapping[str, str], table: str,
             meta: Meta) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [pa.field(name, pa.from_numpy_dtype(values.dtype),
                       metadata={"unit": units[name]} if units.get(name) else None)
              for name, values in columns.items()]
    schema = pa.schema(fields, metadata={**meta, "table": table})
    pq.write_table(pa.table({n: np.asarray(v) for n, v in columns.items()}, schema=schema),
                   path, compression="zstd")


@dataclass(frozen=True)
class Writer:
    """One output format: its file extension, media type and writer."""

    extension: str
    media_type: str
    write: Callable[[Path, Columns, Mapping[str, str], str, Meta], None]


WRITERS: dict[str, Writer] = {
    "hdf5": Writer(".h5", "application/x-hdf5", _hdf5),
    "root": Writer(".root", "application/octet-stream", _root),
    "ecsv": Writer(".ecsv", "text/plain", _ecsv),
    "csv": Writer(".csv", "text/csv", _csv),
    "fits": Writer(".fits", "application/fits", _fits),
    "parquet": Writer(".parquet", "application/vnd.apache.parquet", _parquet),
}
"""The output formats by name; a new format is one more entry."""
