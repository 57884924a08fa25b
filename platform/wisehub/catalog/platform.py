"""The platform catalogue: one flat, searchable view over the root Intake catalogue's tree."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import intake
import xarray as xr
import yaml

from wisehub.catalog.search import matches_instrument, matches_text, overlaps_time, within_cone
from wisehub.config import Settings, get_settings
from wisehub.storage.zarrio import load_coords

SUBCATALOG = "intake.readers.entry:Catalog"


class CatalogError(LookupError):
    """A catalogue or entry cannot be opened; the message says which and what to do."""

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0])


@dataclass
class Entry:
    """One dataset in the platform catalogue.

    ``read()`` returns a lazy, dask-backed ``xarray.Dataset`` whose small per-frame
    coordinates are loaded, so they can be used for selection right away.
    """

    name: str
    catalog: str
    reader: Any
    metadata: dict[str, Any]

    def read(self) -> xr.Dataset:
        """Open the data lazily."""
        try:
            ds = self.reader.read()
        except (FileNotFoundError, KeyError, OSError, ValueError) as err:
            raise CatalogError(
                f"entry {self.name!r} of {self.catalog} could not be read ({type(err).__name__}: "
                f"{err}); check that its data exist (for samples: `wisehub samples make`)"
            ) from None
        return load_coords(ds) if isinstance(ds, xr.Dataset) else ds

    def describe(self) -> dict[str, Any]:
        """Name, catalogue and metadata as a plain dict."""
        return {"name": self.name, "catalog": self.catalog, **self.metadata}


class PlatformCatalog:
    """All entries reachable from a root catalogue, by name.

    >>> cat = open_catalog()                            # doctest: +SKIP
    >>> cat.search(instrument="WHCAM").names()          # doctest: +SKIP
    ['whcam.raw']
    """

    def __init__(self, entries: dict[str, Entry], source: str) -> None:
        self._entries = entries
        self.source = source

    def names(self) -> list[str]:
        """Entry names, sorted."""
        return sorted(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CatalogError(
                f"no entry {name!r} in {self.source}{hint} "
                f"(`wisehub catalog list` shows all {len(self)} entries)"
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

        found = {n: e for n, e in self._entries.items() if keep(e)}
        return PlatformCatalog(found, f"{self.source} (search)")

    def __repr__(self) -> str:
        return f"<PlatformCatalog {self.source}: {len(self)} entries>"


def _load(path: str) -> Any:
    try:
        return intake.from_yaml_file(path)
    except FileNotFoundError:
        raise CatalogError(
            f"catalogue {path} does not exist; set WISEHUB_CATALOG_URL to your platform catalogue"
        ) from None
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise CatalogError(
            f"catalogue {path} is not a valid Intake 2 catalogue ({type(err).__name__}: {err}); "
            "it needs `version: 2` with `data:` and `entries:` sections"
        ) from None


def _collect(cat: Any, source: str, out: dict[str, Entry]) -> None:
    for name, description in cat.entries.items():
        reader = cat[name]
        if description.output_instance == SUBCATALOG:
            try:
                sub = reader.read()
            except (FileNotFoundError, OSError) as err:
                raise CatalogError(
                    f"sub-catalogue {name!r} of {source} is missing ({err})"
                ) from None
            _collect(sub, f"{source}/{name}", out)
        else:
            out[name] = Entry(name, source, reader, dict(description.metadata or {}))


def export_template_env(settings: Settings) -> None:
    """Export what the catalogues' ``{env(...)}`` templates need, unless already set.

    ``WISEHUB_DATA_DIR`` for local entries; for S3 entries the endpoint, bucket and the user's
    own keys from the settings, under the names plain intake users set themselves.
    """
    os.environ.setdefault("WISEHUB_DATA_DIR", str(settings.data_dir))
    if not settings.s3.endpoint_url:
        return
    from wisehub.storage.credentials import CredentialsError, resolve_credentials
    from wisehub.storage.s3 import s3_env

    try:
        credentials = resolve_credentials(settings.s3)
    except CredentialsError:
        return  # anonymous: S3 entries then fail on read, naming the endpoint
    env = s3_env(settings.s3.endpoint_url, credentials, settings.s3.bucket)
    for name in ("S3_ENDPOINT_URL", "WISEHUB_S3_BUCKET", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, env[name])


def open_catalog(url: str | os.PathLike | None = None, settings: Settings | None = None
                 ) -> PlatformCatalog:
    """Open the platform's root catalogue (from settings unless ``url`` is given).

    Sub-catalogues are followed, so every dataset is reachable by its entry name.
    """
    settings = settings or get_settings()
    export_template_env(settings)
    path = str(url or settings.catalog_path)
    entries: dict[str, Entry] = {}
    _collect(_load(path), Path(path).name, entries)
    return PlatformCatalog(entries, path)
