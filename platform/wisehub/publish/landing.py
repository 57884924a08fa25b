"""A record's landing page: HTML for people, DataCite JSON or XML for machines.

``negotiate`` picks the representation from an ``Accept`` header (a ``format`` query
argument wins); ``html`` shows the metadata, licence, lineage links and access.

>>> negotiate("application/vnd.datacite.datacite+xml"), negotiate("text/html,*/*")
('xml', 'html')
"""

from __future__ import annotations

from html import escape

from wisehub.publish.records import RecordView

MEDIA = {"json": "application/vnd.datacite.datacite+json",
         "xml": "application/vnd.datacite.datacite+xml", "html": "text/html"}
_ALIASES = {"application/json": "json", "application/xml": "xml", "text/xml": "xml"}


def negotiate(accept: str | None, requested: str | None = None) -> str:
    """``json``, ``xml`` or ``html`` for an Accept header (browsers get HTML)."""
    if requested in MEDIA:
        return requested
    ranked = []
    for position, part in enumerate((accept or "").split(",")):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        kind = next((k for k, m in MEDIA.items() if m == media), _ALIASES.get(media))
        if kind:
            ranked.append((-quality, position, kind))
    return min(ranked)[2] if ranked else "html"


def html(record: RecordView, base: str) -> str:
    """The landing page of ``record``; ``base`` is the service's records URL."""
    doc = record.datacite
    rights = doc["rightsList"][0]
    rows = [
        ("Identifier", f"urn:uuid:{record.pid}" + (f" · DOI {doc['doi']}" if "doi" in doc else "")),
        ("Creators", ", ".join(c["name"] for c in doc["creators"])),
        ("Publisher", doc["publisher"]["name"]),
        ("Year", doc["publicationYear"]),
        ("Type", doc["types"].get("resourceType", "")),
        ("Collection", record.collection or "—"),
        ("Access", record.privilege + (" — data deleted, metadata kept" if record.deleted
                                       else "")),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    licence = (f'<a rel="license" href="{escape(rights["rightsUri"])}">'
               f'{escape(rights["rights"])}</a>')
    derived = [r["relatedIdentifier"].removeprefix("urn:uuid:")
               for r in doc.get("relatedIdentifiers", []) if r["relationType"] == "IsDerivedFrom"]
    lineage = "".join(f'<li><a href="{escape(base)}/{escape(p)}">{escape(p)}</a></li>'
                      for p in derived) or "<li>none (raw data)</li>"
    description = "".join(f"<p>{escape(d['description'])}</p>"
                          for d in doc.get("descriptions", []))
    title = escape(record.title)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="alternate" type="{MEDIA["json"]}" href="?format=json">'
            f'<link rel="alternate" type="{MEDIA["xml"]}" href="?format=xml"></head>'
            f"<body><h1>{title}</h1>{description}<table>{body}"
            f"<tr><th>Licence</th><td>{licence}</td></tr></table>"
            f'<h2>Derived from</h2><ul id="lineage">{lineage}</ul>'
            f'<p><a href="?format=json">DataCite JSON</a> · <a href="?format=xml">DataCite XML'
            f"</a></p></body></html>")
