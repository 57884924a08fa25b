"""IVOA Simple Cone Search (SCS 1.03) over the platform's source tables, answered in VOTable.

Tables are plain column mappings with a UCD per column; the star catalogue of the sample
set (its truth file) is one. A search returns the rows within ``SR`` degrees of
(``RA``, ``DEC``), nearest first, with their distance.

>>> import numpy as np
>>> table = SourceTable("demo", {"id": np.array(["a", "b"]), "ra": np.array([10.0, 11.0]),
...                               "dec": np.array([0.0, 0.0])}, UCDS)
>>> [str(v) for v in table.cone(10.0, 0.0, 0.5)["id"]]
['a']
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from astropy.table import Table

# astropy loads on the first cone search, not when the publishing service starts (it would
# double the service's memory for every hub, searched or not).

# SCS 1.03 asks for the UCD1 names of the main id and position; the rest are UCD1+.
UCDS = {"id": "ID_MAIN", "ra": "POS_EQ_RA_MAIN", "dec": "POS_EQ_DEC_MAIN",
        "mag_g": "phot.mag;em.opt.B", "mag_r": "phot.mag;em.opt.R",
        "distance_deg": "pos.angDistance"}
UNITS = {"ra": "deg", "dec": "deg", "mag_g": "mag", "mag_r": "mag", "distance_deg": "deg"}
MAX_RADIUS_DEG = 10.0


class ConeError(ValueError):
    """A cone search that cannot be answered; the message says which parameter is wrong."""


def degrees(text: str | None, name: str) -> float:
    """The value of the query parameter ``name`` in decimal degrees.

    >>> degrees("10.5", "RA")
    10.5
    >>> degrees("ten", "RA")
    Traceback (most recent call last):
    ...
    wisehub.publish.cone.ConeError: parameter RA='ten' is not a number
    """
    if text is None:
        raise ConeError(f"parameter {name} is required (decimal degrees)")
    try:
        return float(text)
    except ValueError:
        raise ConeError(f"parameter {name}={text!r} is not a number") from None


@dataclass(frozen=True)
class SourceTable:
    """A named source table: columns (equal length) with a UCD for each."""

    name: str
    columns: Mapping[str, np.ndarray]
    ucds: Mapping[str, str]

    def cone(self, ra: float, dec: float, radius: float) -> Table:
        """Rows within ``radius`` degrees of (``ra``, ``dec``), nearest first."""
        from astropy.coordinates import angular_separation
        from astropy.table import Table

        if not (0.0 <= ra <= 360.0 and -90.0 <= dec <= 90.0):
            raise ConeError(f"RA={ra}, DEC={dec} is off the sky (RA 0..360, DEC -90..90)")
        if not 0.0 <= radius <= MAX_RADIUS_DEG:
            raise ConeError(f"SR={radius} must be between 0 and {MAX_RADIUS_DEG} degrees")
        distance = np.degrees(angular_separation(
            np.radians(ra), np.radians(dec), np.radians(self.columns["ra"]),
            np.radians(self.columns["dec"])))
        inside = np.flatnonzero(distance <= radius)
        order = inside[np.argsort(distance[inside], kind="stable")]
        table = Table({k: np.asarray(v)[order] for k, v in self.columns.items()})
        table["distance_deg"] = distance[order]
        return table


def star_table(samples_dir: str | Path) -> SourceTable:
    """The sample set's star catalogue (positions and magnitudes from its truth file)."""
    path = Path(samples_dir) / "truth.json"
    try:
        stars = json.loads(path.read_text())["stars"]
    except FileNotFoundError:
        raise ConeError(f"no sample star catalogue at {path}; run `wisehub samples make`"
                        ) from None
    columns = {"id": np.array([f"WH-STAR-{i + 1}" for i in range(len(stars["ra"]))]),
               **{k: np.asarray(v, dtype=float) for k, v in stars.items()}}
    return SourceTable("stars", columns, UCDS)


def votable(table: Table, ucds: Mapping[str, str], *, name: str) -> bytes:
    """A VOTable document of ``table`` with the UCD and unit of each column."""
    from astropy.io.votable.tree import VOTableFile

    document = VOTableFile.from_table(table, table_id=name)
    for field in document.get_first_table().fields:
        field.ucd = ucds.get(field.name)
        if field.name in UNITS:
            field.unit = UNITS[field.name]
    out = io.BytesIO()
    document.to_xml(out)
    return out.getvalue()


def error_votable(message: str) -> bytes:
    """The SCS 1.03 error answer: a VOTable with ``INFO name="Error"`` (and, for DALI
    clients, ``QUERY_STATUS`` ERROR) saying what is wrong."""
    from astropy.io.votable.tree import Field, Info, Resource, TableElement, VOTableFile

    document = VOTableFile()
    document.infos.append(Info(name="Error", value=message))
    resource = Resource()
    document.resources.append(resource)
    status = Info(name="QUERY_STATUS", value="ERROR")
    status.content = message
    resource.infos.append(status)
    table = TableElement(document)
    table.fields.append(Field(document, name="id", datatype="char", arraysize="*"))
    resource.tables.append(table)
    out = io.BytesIO()
    document.to_xml(out)
    return out.getvalue()
