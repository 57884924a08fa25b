"""DataCite 4.5 metadata for records: build it, validate it, write it as XML.

Validation and XML use the ``datacite`` package (the JSON schema DataCite publishes and its
JSON→XML rules), so what we export is what DataCite's own tooling accepts. A record's
persistent id is a UUID, exported as ``urn:uuid:…``; with a DOI prefix the same id becomes
the DOI suffix, so registering the DOI later changes nothing else.

>>> doc = metadata(pid="3f0c1b9e-0000-4000-8000-000000000001", title="Master bias",
...                creators=["ada"], publisher="wisehub", year=2026, resource_type="MasterBias",
...                licence="CC-BY-4.0", subjects=["astronomy"], instrument="WHCAM")
>>> validate(doc) is doc
True
>>> b"<rights " in to_xml(doc) and doc["rightsList"][0]["rightsIdentifier"]
'cc-by-4.0'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"

LICENCES: dict[str, tuple[str, str]] = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0 International",
                  "https://creativecommons.org/licenses/by/4.0/legalcode"),
    "CC0-1.0": ("Creative Commons Zero v1.0 Universal",
                "https://creativecommons.org/publicdomain/zero/1.0/legalcode"),
}
LICENCE_ALIASES = {"CC-BY": "CC-BY-4.0", "CC-BY-4": "CC-BY-4.0", "CC0": "CC0-1.0"}


class MetadataError(ValueError):
    """Metadata that DataCite would refuse; the message lists every problem."""


def licence_id(licence: str | None) -> str:
    """The SPDX id of a catalogue licence (CC-BY-4.0 or CC0-1.0), with a clear error.

    >>> licence_id("CC0")
    'CC0-1.0'
    """
    if licence is None:
        raise MetadataError("no licence: set 'licence' (CC-BY-4.0 or CC0-1.0) in the catalogue "
                            "entry before publishing")
    spdx = LICENCE_ALIASES.get(licence.upper(), licence)
    if spdx not in LICENCES:
        raise MetadataError(f"licence {licence!r} is not offered; use one of "
                            f"{', '.join(LICENCES)}")
    return spdx


def urn(pid: str) -> str:
    """The URN form of a record's UUID (``urn:uuid:…``)."""
    return f"urn:uuid:{pid}"


def metadata(*, pid: str, title: str, creators: Sequence[str], publisher: str, year: int,
             resource_type: str, licence: str | None, subjects: Iterable[str] = (),
             description: str | None = None, instrument: str | None = None,
             derived_from: Iterable[str] = (), part_of: str | None = None,
             dates: Mapping[str, datetime | str] | None = None, size: int | None = None,
             url: str | None = None, doi_prefix: str | None = None) -> dict[str, Any]:
    """DataCite 4.5 JSON for one record (not yet validated: see :func:`validate`).

    ``derived_from`` are the record ids of lineage inputs (``IsDerivedFrom``), ``part_of``
    the collection (``IsPartOf``), ``dates`` DataCite date types (Created, Issued, Collected,
    …) to dates or ISO strings.
    """
    spdx = licence_id(licence)
    name, uri = LICENCES[spdx]
    doc: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": resource_type},
        "creators": [{"name": c} for c in creators],
        "titles": [{"title": title}],
        "publisher": {"name": publisher},
        "publicationYear": str(year),
        "alternateIdentifiers": [{"alternateIdentifier": urn(pid),
                                  "alternateIdentifierType": "URN"}],
        "rightsList": [{"rights": name, "rightsUri": uri, "rightsIdentifier": spdx.lower(),
                        "rightsIdentifierScheme": "SPDX",
                        "schemeUri": "https://spdx.org/licenses/"}],
        "subjects": [{"subject": s} for s in subjects],
        "relatedIdentifiers": [
            *({"relatedIdentifier": urn(p), "relatedIdentifierType": "URN",
               "relationType": "IsDerivedFrom"} for p in derived_from),
            *([{"relatedIdentifier": part_of, "relatedIdentifierType": "URN",
                "relationType": "IsPartOf"}] if part_of else []),
        ],
        "dates": [{"date": d.isoformat() if isinstance(d, datetime) else str(d),
                   "dateType": kind} for kind, d in (dates or {}).items()],
    }
    if doi_prefix:
        doc["doi"] = f"{doi_prefix}/{pid}"
    if description:
        doc["descriptions"] = [{"description": description, "descriptionType": "Abstract"}]
    if instrument:
        doc["relatedItems"] = [{"relationType": "IsCollectedBy", "relatedItemType": "Instrument",
                                "titles": [{"title": instrument}]}]
    if size is not None:
        doc["sizes"] = [f"{size} bytes"]
    if url:
        doc["url"] = url
    return {k: v for k, v in doc.items() if v != []}


def validate(doc: dict[str, Any]) -> dict[str, Any]:
    """Check ``doc`` against DataCite's 4.5 JSON schema; return it, or raise listing errors."""
    from datacite import schema45  # lxml and jsonschema: loaded when first needed

    errors = sorted(schema45.validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        raise MetadataError("DataCite 4.5 refuses this metadata: " + "; ".join(
            f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors))
    return doc


def to_xml(doc: dict[str, Any]) -> bytes:
    """DataCite 4.5 XML of metadata already validated (records are, when saved), e.g. the
    ``oai_datacite`` payload; schema validation would cost harvests 4 ms a record."""
    from datacite import schema45

    return schema45.tostring(doc).encode()
