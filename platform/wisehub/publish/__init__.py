"""Publishing: records with persistent ids and DataCite metadata, served to harvesters.

``models`` (the records table) → ``datacite`` (metadata, validation, XML) → ``records``
(making and reading records) → ``oai`` (OAI-PMH responses) → ``landing`` (landing pages)
→ ``service`` (the hub service serving both).

>>> from wisehub.lineage import Context, LineageStore
>>> from wisehub.publish import promote
>>> store = LineageStore("sqlite://", Context("ada"))
>>> promote(store, store.register("Note", name="n").pid, "world").privilege
'world'
"""

from wisehub.publish.datacite import MetadataError
from wisehub.publish.records import (
    RecordError,
    Records,
    RecordView,
    UnknownRecordError,
    delete_data,
    promote,
)

__all__ = ["MetadataError", "RecordError", "RecordView", "Records", "UnknownRecordError",
           "delete_data", "promote"]
