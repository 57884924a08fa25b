"""Publishing: records with persistent ids and DataCite metadata, served to harvesters.

``models`` (the records table) → ``datacite`` (metadata, validation, XML) → ``records``
(making and reading records) → ``oai`` (OAI-PMH responses) and ``landing`` (landing pages)
→ ``service`` (the hub service serving both and the cone search of ``cone``;
``registration`` is its hub entry); ``export`` writes VOTable and FITS, ``cli`` is
``wisehub publish``. This
package is light to import; each name loads its module on first use.

>>> from wisehub.lineage import Context, LineageStore
>>> from wisehub.publish import promote
>>> store = LineageStore("sqlite://", Context("ada"))
>>> promote(store, store.register("SourceList", name="s").pid, "world").privilege
'world'
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "MetadataError": "wisehub.publish.datacite",
    "RecordError": "wisehub.publish.records",
    "RecordView": "wisehub.publish.records",
    "Records": "wisehub.publish.records",
    "UnknownRecordError": "wisehub.publish.records",
    "delete_data": "wisehub.publish.records",
    "promote": "wisehub.publish.records",
    "votable": "wisehub.publish.export",
    "fits": "wisehub.publish.export",
    "ExportError": "wisehub.publish.export",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wisehub.publish' has no attribute {name!r}")


__all__ = sorted(_LAZY)
