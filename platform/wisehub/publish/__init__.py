"""Publishing: records with persistent ids and DataCite metadata, served to harvesters.

``models`` (the records table) → ``datacite`` (metadata, validation, XML) → ``records``
(making and reading records) → ``oai`` (OAI-PMH responses) and ``landing`` (landing pages)
→ ``service`` (the hub service serving both and the cone search of ``cone``;
``registration`` is its hub entry); ``export`` writes VOTable and FITS, ``shop`` is the
data shop (its REST API and page are mounted in the same service), ``cli`` is
``wisehub publish``. This
package is light to import; each name loads its module on first use.

>>> from wisehub.lineage import Context, LineageStore
>>> from wisehub.publish import promote
>>> store = LineageStore("sqlite://", Context("ada"))
>>> promote(store, store.register("SourceList", name="s").pid, "world").privilege
'world'
"""

from __future__ import annotations

from wisehub.lazy import lazy_getattr

_LAZY = {
    "MetadataError": "wisehub.publish.datacite:MetadataError",
    "RecordError": "wisehub.publish.records:RecordError",
    "RecordView": "wisehub.publish.records:RecordView",
    "Records": "wisehub.publish.records:Records",
    "UnknownRecordError": "wisehub.publish.records:UnknownRecordError",
    "delete_data": "wisehub.publish.records:delete_data",
    "promote": "wisehub.publish.records:promote",
    "votable": "wisehub.publish.export:votable",
    "fits": "wisehub.publish.export:fits",
    "ExportError": "wisehub.publish.export:ExportError",
    "shop": "wisehub.publish.shop",
}


__getattr__ = lazy_getattr(globals(), _LAZY)


__all__ = sorted(_LAZY)
