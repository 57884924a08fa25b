"""Read one Intake 2 catalogue file as data: no import, no pickle, no function ever runs.

Anyone who can write a catalogue that others open (a group workspace, a publish target) would
otherwise run code as every reader: intake imports the classes a file names and evaluates
``{func(...)}`` and ``{pickle64(...)}`` templates. wisehub reads the YAML itself
(``yaml.safe_load``) and accepts only what it writes:

* data of the datatypes in :data:`DATATYPES` (Zarr stores, and YAML files that are
  sub-catalogues), with keyword arguments ``url`` and ``storage_options`` only (and an
  empty ``root``);
* entries whose reader is in :data:`READERS`: xarray on a Zarr store (engine ``zarr``), or a
  sub-catalogue reader on a YAML file, each taking exactly one ``{data(NAME)}``;
* templates ``{env(NAME)}``, ``{data(NAME)}`` and ``{CATALOG_DIR}``, nothing else.

Anything else is a :class:`CatalogError` naming the file, the entry and the problem. Plain
intake still opens the same files (they stay valid Intake 2 catalogues).

>>> doc = parse_catalog(\"\"\"
... version: 2
... data:
...   raw: {datatype: "intake.readers.datatypes:Zarr", kwargs: {url: "{CATALOG_DIR}/raw.zarr"}}
... entries:
...   raw:
...     reader: intake.readers.readers:XArrayDatasetReader
...     kwargs: {args: ["{data(raw)}"], engine: zarr}
...     metadata: {title: Raw frames}
... \"\"\", "demo.yaml")
>>> doc.datasets["raw"].data.kwargs["url"], doc.datasets["raw"].metadata["title"]
('{CATALOG_DIR}/raw.zarr', 'Raw frames')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from wisehub.config import yaml_problem

ZARR = "intake.readers.datatypes:Zarr"
YAML_FILE = "intake.readers.datatypes:YAMLFile"
DATATYPES = {ZARR: {"url", "storage_options", "root"}, YAML_FILE: {"url", "storage_options"}}
"""Accepted datatypes and the keyword arguments each may have (intake's own ``Zarr`` writes
``root: ''``, the store's top group; wisehub reads only that)."""

XARRAY_READER = "intake.readers.readers:XArrayDatasetReader"
CATALOG_READER = "intake.readers.readers:YAMLCatalogReader"
READERS = {XARRAY_READER: (ZARR, {"args", "engine", "chunks"}),
           CATALOG_READER: (YAML_FILE, {"args"})}
"""Accepted readers: the datatype each reads and the keyword arguments it may have."""

TEMPLATE = re.compile(r"\{[^{}]*\}")
ALLOWED_TEMPLATE = re.compile(
    r"\{(?:CATALOG_DIR|env\([A-Za-z_][A-Za-z0-9_]*\)|data\([A-Za-z0-9_.-]+\))\}")
DATA_REF = re.compile(r"^\{data\(([A-Za-z0-9_.-]+)\)\}$")


class CatalogError(LookupError):
    """A catalogue or entry cannot be opened; the message says which and what to do."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Data:
    """A data item: its datatype and (still templated) keyword arguments."""

    datatype: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Described:
    """An entry of a catalogue: what it reads (a :class:`Data`) and its metadata."""

    name: str
    data: Data
    metadata: dict[str, Any]


@dataclass
class CatalogDocument:
    """A vetted catalogue file: its datasets and its sub-catalogues, by entry name."""

    source: str
    datasets: dict[str, Described] = field(default_factory=dict)
    subcatalogs: dict[str, Described] = field(default_factory=dict)


def parse_catalog(text: str, source: str) -> CatalogDocument:
    """Vet and parse the catalogue ``text`` (read from ``source``, named in errors)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CatalogError(f"catalogue {source} is not a valid Intake 2 catalogue: not valid "
                           f"YAML ({yaml_problem(err)})") from None
    if not isinstance(document, dict) or document.get("version") != 2:
        raise CatalogError(f"catalogue {source} is not a valid Intake 2 catalogue: it needs "
                           "`version: 2` with `data:` and `entries:` sections")
    _check_templates(document, source)
    data = {name: _data(name, item, source)
            for name, item in _mapping(document, "data", source).items()}
    parsed = CatalogDocument(source)
    for name, entry in _mapping(document, "entries", source).items():
        described = _entry(str(name), entry, data, source)
        kind = parsed.subcatalogs if described.data.datatype == YAML_FILE else parsed.datasets
        kind[str(name)] = described
    return parsed


def _mapping(document: Mapping[str, Any], key: str, source: str) -> dict[Any, Any]:
    value = document.get(key) or {}
    if not isinstance(value, dict):
        raise CatalogError(f"catalogue {source}: `{key}:` must be a mapping")
    return value


def _check_templates(value: Any, source: str) -> None:
    """Refuse any template but env, data and CATALOG_DIR, anywhere in the document."""
    if isinstance(value, str):
        for template in TEMPLATE.findall(value):
            if not ALLOWED_TEMPLATE.fullmatch(template):
                raise CatalogError(
                    f"catalogue {source} uses the template {template[:60]!r}; only "
                    "{env(NAME)}, {data(NAME)} and {CATALOG_DIR} are allowed (templates that "
                    "import or unpickle would run code as whoever opens the catalogue)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_templates(key, source)
            _check_templates(item, source)
    elif isinstance(value, list):
        for item in value:
            _check_templates(item, source)


def _data(name: Any, item: Any, source: str) -> Data:
    where = f"catalogue {source}, data {name!r}"
    datatype = _allowed_class(item, "datatype", DATATYPES, where)
    kwargs = _kwargs(item, where, DATATYPES[datatype])
    if not isinstance(kwargs.get("url"), str):
        raise CatalogError(f"{where}: needs a `url` string")
    if kwargs.get("storage_options") is None:  # intake writes `storage_options: null`
        kwargs["storage_options"] = {}
    if not isinstance(kwargs["storage_options"], dict):
        raise CatalogError(f"{where}: `storage_options` must be a mapping")
    if kwargs.get("root", ""):
        raise CatalogError(f"{where}: `root` {kwargs['root']!r} names a group inside the store; "
                           "wisehub reads a store's top group only (root: '')")
    return Data(datatype, kwargs)


def _allowed_class(item: Any, key: str, allowed: Mapping[str, Any], where: str) -> str:
    """The class ``item[key]`` names, if it is one of ``allowed``."""
    if not isinstance(item, dict):
        raise CatalogError(f"{where}: must be a mapping with `{key}` and `kwargs`")
    name = item.get(key)
    if name not in allowed:
        raise CatalogError(f"{where}: {key} {name!r} is not allowed; wisehub accepts "
                           f"{sorted(allowed)}")
    return name


def _kwargs(item: Mapping[str, Any], where: str, allowed: set[str]) -> dict[str, Any]:
    kwargs = item.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise CatalogError(f"{where}: `kwargs` must be a mapping")
    unknown = sorted(str(k) for k in kwargs if k not in allowed)
    if unknown:
        raise CatalogError(f"{where}: keyword arguments {unknown} are not allowed "
                           f"(allowed: {sorted(allowed)})")
    return kwargs


def _entry(name: str, entry: Any, data: dict[Any, Data], source: str) -> Described:
    where = f"catalogue {source}, entry {name!r}"
    reader = _allowed_class(entry, "reader", READERS, where)
    datatype, allowed = READERS[reader]
    kwargs = _kwargs(entry, where, allowed)
    if reader == XARRAY_READER and kwargs.get("engine") != "zarr":
        raise CatalogError(f"{where}: the xarray reader must have `engine: zarr`")
    args = kwargs.get("args")
    ref = DATA_REF.match(args[0]) if (isinstance(args, list) and len(args) == 1
                                      and isinstance(args[0], str)) else None
    if ref is None or ref.group(1) not in data:
        raise CatalogError(f"{where}: `args` must be one `{{data(NAME)}}` naming an item of "
                           "this catalogue's `data:`")
    target = data[ref.group(1)]
    if target.datatype != datatype:
        raise CatalogError(f"{where}: {reader} reads {datatype}, not {target.datatype}")
    metadata = entry.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CatalogError(f"{where}: `metadata` must be a mapping")
    return Described(name, target, metadata)
