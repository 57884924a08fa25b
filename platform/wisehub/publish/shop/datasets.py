"""The datasets on offer: tabular entries of the shop's Intake catalogues, with their access.

A shop dataset is named ``<catalogue stem>/<entry>`` (``samples/showers.events``). Who may
order it follows the entry's ``privilege`` (``world`` unless said otherwise) and its
``group``: a world dataset is open to every registered user, a group dataset to the group's
members only. No user is ever granted access one by one.

>>> from wisehub.config import Settings
>>> from wisehub.lineage import Context
>>> found = find_datasets([Settings().catalog_path.with_name("samples.yaml")])
>>> shower = found["samples/showers.events"]
>>> shower.privilege, shower.readable_by(Context("anyone"))
('world', True)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wisehub.lineage.context import PRIVILEGES, Context, privilege_level
from wisehub.publish.shop.errors import ShopAccessError, UnknownDatasetError

TABULAR_KINDS = ("event-table", "table", "source-list")
"""Entry ``kind`` values the shop sells: tables along one dimension."""
_UNIT_SUFFIXES = {"_ev": "eV", "_deg": "deg", "_m": "m", "_unix": "s", "_mpc": "Mpc",
                  "_km_s": "km/s"}


@dataclass(frozen=True)
class Column:
    """One column of a shop dataset: its type, unit and range of values."""

    name: str
    dtype: str
    unit: str
    min: float
    max: float


@dataclass(frozen=True)
class Schema:
    """What a dataset holds: its row dimension, number of rows and numeric columns."""

    dimension: str
    rows: int
    columns: dict[str, Column]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for the REST API and the form)."""
        return {"dimension": self.dimension, "rows": self.rows,
                "columns": [vars(c) for c in self.columns.values()]}


@dataclass(frozen=True)
class ShopDataset:
    """A tabular catalogue entry on offer, with its metadata (licence, creator, access)."""

    name: str
    catalog: Path
    entry: str
    meta: Mapping[str, Any]

    @property
    def title(self) -> str:
        """The entry's title."""
        return str(self.meta.get("title") or self.entry)

    @property
    def privilege(self) -> str:
        """Who may order it: world (every registered user), group, project or private."""
        level = privilege_level(self.meta.get("privilege", "world"))
        return next(k for k, v in PRIVILEGES.items() if v == level)

    @property
    def group(self) -> str | None:
        """The group a group-level dataset belongs to."""
        return self.meta.get("group")

    def readable_by(self, context: Context) -> bool:
        """Whether ``context`` may order from it (the lineage store's rule)."""
        return context.can_read(owner=str(self.meta.get("owner") or ""),
                                privilege=PRIVILEGES[self.privilege], group_name=self.group,
                                project=self.meta.get("project"))

    def check_access(self, context: Context) -> None:
        """Raise :class:`ShopAccessError` saying why ``context`` may not order from it."""
        if self.readable_by(context):
            return
        groups = ", ".join(context.groups) or "no group"
        who = (f"members of group {self.group!r}" if self.privilege == "group" and self.group
               else f"its {self.privilege} readers")
        raise ShopAccessError(f"dataset {self.name} is open to {who} only; user "
                              f"{context.user!r} is in {groups}. Access follows groups: ask "
                              "the group's owner to add you")

    def open(self) -> Any:
        """The dataset, lazily (an ``xarray.Dataset`` of Dask arrays)."""
        return open_entry(self.catalog, self.entry)

    def schema(self) -> Schema:
        """Rows and numeric columns (read once per catalogue version)."""
        return _schema(self.catalog, self.entry, self.catalog.stat().st_mtime_ns)

    def describe(self) -> dict[str, Any]:
        """Name, title, licence, access and description (no data read)."""
        return {"name": self.name, "title": self.title, "privilege": self.privilege,
                "group": self.group, "licence": self.meta.get("licence"),
                "description": self.meta.get("description", ""),
                "instrument": self.meta.get("instrument")}


def open_entry(catalog: Path, entry: str) -> Any:
    """Entry ``entry`` of the catalogue file ``catalog``, read lazily with intake."""
    import intake

    return intake.from_yaml_file(str(catalog))[entry].read()


@functools.lru_cache(maxsize=32)
def _schema(catalog: Path, entry: str, version: int) -> Schema:
    """``version`` (the file's mtime) is part of the key: a changed catalogue is read again."""
    del version
    import dask

    data = open_entry(catalog, entry)
    dims = {d for v in data.data_vars.values() for d in v.dims}
    if len(dims) != 1:
        raise UnknownDatasetError(f"dataset {catalog.stem}/{entry} is not a table along one "
                                  f"dimension (dimensions {sorted(dims)})")
    [dim] = dims
    names = [n for n, v in {**data.coords, **data.data_vars}.items()
             if v.dims == (dim,) and np.issubdtype(v.dtype, np.number)]
    lows, highs = dask.compute([data[n].min() for n in names], [data[n].max() for n in names])
    columns = {n: Column(n, str(data[n].dtype), _unit(n, data[n].attrs), float(lo), float(hi))
               for n, lo, hi in zip(names, lows, highs, strict=True)}
    return Schema(dim, int(data.sizes[dim]), columns)


def _unit(name: str, attrs: Mapping[str, Any]) -> str:
    if attrs.get("units"):
        return str(attrs["units"])
    return next((u for s, u in _UNIT_SUFFIXES.items() if name.endswith(s)), "")


def find_datasets(catalogs: Iterable[Path]) -> dict[str, ShopDataset]:
    """The tabular entries of the catalogue files, by shop name (unreadable files skipped)."""
    found: dict[str, ShopDataset] = {}
    for path in catalogs:
        try:
            document = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        defaults = {k: v for k, v in (document.get("metadata") or {}).items()
                    if k in ("creator", "licence")}
        for entry, spec in (document.get("entries") or {}).items():
            meta = {**defaults, **((spec or {}).get("metadata") or {})}
            if meta.get("kind") in TABULAR_KINDS:
                name = f"{Path(path).stem}/{entry}"
                found[name] = ShopDataset(name, Path(path).absolute(), entry, meta)
    return found
