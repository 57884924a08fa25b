"""The platform catalogue: one flat, searchable view over the root catalogue's tree.

Catalogue files are read as data by :mod:`wisehub.catalog.document` (no code runs while a
catalogue is opened or listed). Sub-catalogues are opened on first use. One that is missing,
malformed or part of a cycle is left out with a :class:`CatalogError` in
:attr:`PlatformCatalog.problems` (and a warning), and every other entry stays available.

Entries read Zarr stores through :func:`wisehub.storage.zarrio.open_zarr`. ``{env(NAME)}``
templates take ``NAME`` from the process environment, else from the settings (the data
directory, and the S3 endpoint, bucket and the user's own keys); nothing is written to
``os.environ``, so one user's keys never leak into another library's environment.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import fsspec
import xarray as xr

from wisehub.catalog.document import CatalogDocument, CatalogError, Data, parse_catalog
from wisehub.catalog.search import matches_instrument, matches_text, overlaps_time, within_cone
from wisehub.config import Settings, get_settings
from wisehub.storage.zarrio import load_coords

__all__ = ["CatalogError", "CatalogWarning", "Entry", "PlatformCatalog", "open_catalog"]

MAX_DEPTH = 16
"""How deep sub-catalogues may nest."""
ENV = re.compile(r"\{env\(([A-Za-z_][A-Za-z0-9_]*)\)\}")


class CatalogWarning(UserWarning):
    """A sub-catalogue could not be opened; the rest of the catalogue is still there."""


@dataclass(frozen=True)
class Templates:
    """What ``{env(NAME)}`` and ``{CATALOG_DIR}`` stand for in one catalogue file."""

    env: Mapping[str, str] = field(repr=False)
    catalog_dir: str

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with its templates filled in (recursively through dicts and lists)."""
        if isinstance(value, dict):
            return {k: self.resolve(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, where) for v in value]
        if not isinstance(value, str):
            return value

        def env(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                raise CatalogError(
                    f"{where} needs the environment variable {name}, which is unset; set it, "
                    "or the matching wisehub setting (s3.* for S3 entries)")
            return self.env[name]

        return ENV.sub(env, value.replace("{CATALOG_DIR}", self.catalog_dir))


@dataclass(frozen=True)
class ZarrLocation:
    """Where an entry's Zarr store is, and the fsspec options to reach it (kept out of reprs)."""

    url: str
    storage_options: dict[str, Any] = field(repr=False)


@dataclass
class Entry:
    """One dataset in the platform catalogue.

    ``read()`` returns a lazy, dask-backed ``xarray.Dataset`` whose small per-frame
    coordinates are loaded, so they can be used for selection right away.
    """

    name: str
    catalog: str
    data: Data
    metadata: dict[str, Any]
    templates: Templates = field(repr=False)

    def location(self) -> ZarrLocation:
        """The store's URL and storage options, templates filled in."""
        where = f"entry {self.name!r} of {self.catalog}"
        return ZarrLocation(self.templates.resolve(self.data.kwargs["url"], where),
                            self.templates.resolve(self.data.kwargs.get("storage_options", {}),
                                                   where))

    def read(self) -> xr.Dataset:
        """Open the data lazily (through :func:`wisehub.storage.zarrio.open_zarr`)."""
        from wisehub.storage.zarrio import open_zarr

        where = self.location()
        try:
            ds = open_zarr(where.url, storage_options=where.storage_options)
        except (FileNotFoundError, KeyError, OSError, ValueError) as err:
            raise CatalogError(
                f"entry {self.name!r} of {self.catalog} could not be read ({type(err).__name__}: "
                f"{err}); check that its data exist (for samples: `wisehub samples make`)"
            ) from None
        return load_coords(ds)

    def describe(self) -> dict[str, Any]:
        """Name, catalogue and metadata as a plain dict."""
        return {"name": self.name, "catalog": self.catalog, **self.metadata}


Loaded = tuple[dict[str, Entry], list[CatalogError]]


class PlatformCatalog:
    """All entries reachable from a root catalogue, by name.

    Built from entries, or from a ``loader`` run on first use (sub-catalogues open lazily).

    >>> cat = open_catalog()
    >>> cat.search(instrument="WHCAM").names()
    ['whcam.raw', 'whcam.raw.s3']
    """

    def __init__(self, source: str, entries: dict[str, Entry] | None = None,
                 loader: Callable[[], Loaded] | None = None) -> None:
        self.source = source
        self._entries = entries
        self._loader = loader
        self._problems: list[CatalogError] = []

    def _all(self) -> dict[str, Entry]:
        if self._entries is None:
            self._entries, self._problems = self._loader() if self._loader else ({}, [])
            for problem in self._problems:
                warnings.warn(str(problem), CatalogWarning, stacklevel=3)
        return self._entries

    @property
    def problems(self) -> list[CatalogError]:
        """Sub-catalogues that could not be opened (their entries are missing)."""
        self._all()
        return list(self._problems)

    def names(self) -> list[str]:
        """Entry names, sorted."""
        return sorted(self._all())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __getitem__(self, name: str) -> Entry:
        entries = self._all()
        try:
            return entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, entries, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            broken = (f"; {len(self._problems)} sub-catalogue(s) could not be opened: "
                      + "; ".join(str(p) for p in self._problems)) if self._problems else ""
            raise CatalogError(
                f"no entry {name!r} in {self.source}{hint} "
                f"(`wisehub catalog list` shows all {len(self)} entries){broken}"
            ) from None

    def describe(self, name: str) -> dict[str, Any]:
        """The metadata of one entry."""
        return self[name].describe()

    def search(
        self,
        text: str | None = None,
        *,
        instrument: str | None = None,
        start: str | datetime | None = None,
        end: str | datetime | None = None,
        cone: tuple[float, float, float] | None = None,
    ) -> PlatformCatalog:
        """Entries matching all given criteria (words, instrument, time overlap, sky cone).

        ``cone`` is ``(ra_deg, dec_deg, radius_deg)``.
        """

        def keep(entry: Entry) -> bool:
            md = entry.metadata
            return (
                (text is None or matches_text(entry.name, md, text))
                and (instrument is None or matches_instrument(md, instrument))
                and ((start is None and end is None) or overlaps_time(md, start, end))
                and (cone is None or within_cone(md, *cone))
            )

        found = {n: e for n, e in self._all().items() if keep(e)}
        return PlatformCatalog(f"{self.source} (search)", found)

    def __repr__(self) -> str:
        return f"<PlatformCatalog {self.source}: {len(self)} entries>"


def _read_text(url: str, storage_options: Mapping[str, Any]) -> str:
    with fsspec.open(url, "rt", encoding="utf-8", **storage_options) as handle:
        return handle.read()


def _canonical(url: str) -> str:
    return os.path.realpath(url) if "://" not in url else url


class _Walk:
    """Opens a catalogue tree: each file once per branch, cycles and bad files reported."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.entries: dict[str, Entry] = {}
        self.problems: list[CatalogError] = []

    def document(self, url: str, storage_options: Mapping[str, Any], source: str
                 ) -> CatalogDocument:
        try:
            text = _read_text(url, storage_options)
        except FileNotFoundError:
            raise CatalogError(f"catalogue {url} does not exist") from None
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise CatalogError(f"catalogue {url} cannot be read ({type(err).__name__})"
                               ) from None
        return parse_catalog(text, source)

    def add(self, doc: CatalogDocument, url: str, label: str, chain: tuple[str, ...]) -> None:
        templates = Templates(self.env, str(Path(url).parent) if "://" not in url
                              else url.rsplit("/", 1)[0])
        for name, described in doc.datasets.items():
            self.entries[name] = Entry(name, label, described.data, described.metadata,
                                       templates)
        for name, described in doc.subcatalogs.items():
            where = f"sub-catalogue {name!r} of {doc.source}"
            try:
                sub_url = templates.resolve(described.data.kwargs["url"], where)
                options = templates.resolve(described.data.kwargs.get("storage_options", {}),
                                            where)
                if _canonical(sub_url) in chain:
                    raise CatalogError(f"{where}: {sub_url} includes itself (a cycle of "
                                       "sub-catalogues); left out")
                if len(chain) >= MAX_DEPTH:
                    raise CatalogError(f"{where}: nested more than {MAX_DEPTH} deep; left out")
                sub = self.document(sub_url, options, sub_url)
            except CatalogError as err:
                self.problems.append(err if str(err).startswith(where)
                                     else CatalogError(f"{where}: {err}"))
                continue
            self.add(sub, sub_url, f"{label}/{name}", (*chain, _canonical(sub_url)))


def template_env(settings: Settings) -> dict[str, str]:
    """What catalogue ``{env(NAME)}`` templates see: the process environment first, then the
    settings (``WISEHUB_DATA_DIR``; for S3 the endpoint, bucket and the user's own keys, under
    the names plain intake users set themselves).

    >>> "WISEHUB_DATA_DIR" in template_env(Settings(data_dir="/tmp/wh-doc"))
    True
    """
    derived = {"WISEHUB_DATA_DIR": str(settings.data_dir)}
    if settings.s3.endpoint_url:
        from wisehub.storage.credentials import CredentialsError, resolve_credentials
        from wisehub.storage.s3 import s3_env

        try:
            credentials = resolve_credentials(settings.s3)
        except CredentialsError:
            credentials = None  # anonymous: S3 entries then fail on read, naming the variable
        if credentials is not None:
            env = s3_env(settings.s3.endpoint_url, credentials, settings.s3.bucket)
            derived.update({name: env[name] for name in (
                "S3_ENDPOINT_URL", "WISEHUB_S3_BUCKET", "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY")})
    return {**derived, **os.environ}


def open_catalog(url: str | os.PathLike | None = None, settings: Settings | None = None
                 ) -> PlatformCatalog:
    """Open the platform's root catalogue (from settings unless ``url`` is given).

    The root file is read at once (a missing or invalid root is a :class:`CatalogError`);
    sub-catalogues on first use, so every dataset is reachable by its entry name.
    """
    settings = settings or get_settings()
    path = str(url or settings.catalog_path)
    walk = _Walk(template_env(settings))
    root = walk.document(path, {}, path)

    def load() -> Loaded:
        walk.add(root, path, Path(path).name, (_canonical(path),))
        return walk.entries, walk.problems

    return PlatformCatalog(path, loader=load)
