"""OAI-PMH 2.0 responses over the records table: a pure function from request to XML.

Verbs: Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord, in
``oai_dc`` and ``oai_datacite`` (the DataCite 4.5 resource). Sets are collections; lists
page by change time with resumption tokens that carry where the previous page stopped, so a
harvest stays correct while records are added. Deleted records keep a header marked
``deleted`` (deletedRecord: persistent); their metadata stays on the landing page.

>>> from sqlalchemy import create_engine
>>> from wisehub.lineage.schema import upgrade
>>> engine = create_engine("sqlite://"); _ = upgrade(engine)
>>> xml = respond(Records(engine, None), {"verb": "Identify"}, "http://hub/oai")
>>> b"<repositoryName>wisehub</repositoryName>" in xml
True
>>> b'code="noRecordsMatch"' in respond(Records(engine, None),
...     {"verb": "ListRecords", "metadataPrefix": "oai_dc"}, "http://hub/oai")
True
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from lxml.builder import ElementMaker

from wisehub.publish import datacite
from wisehub.publish.records import PAGE_SIZE, Records, RecordView, UnknownRecordError

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DC_NS = "http://purl.org/dc/elements/1.1/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC_NS),
    "oai_datacite": ("http://schema.datacite.org/meta/kernel-4.5/metadata.xsd",
                     "http://datacite.org/schema/kernel-4"),
}
ID_PREFIX = "oai:wisehub:"
VERBS = {"Identify": set(), "ListMetadataFormats": {"identifier"}, "ListSets": set(),
         "GetRecord": {"identifier", "metadataPrefix"},
         "ListIdentifiers": {"metadataPrefix", "from", "until", "set"},
         "ListRecords": {"metadataPrefix", "from", "until", "set"}}

OAI = ElementMaker(namespace=OAI_NS, nsmap={None: OAI_NS, "xsi": XSI})
DC = ElementMaker(namespace=DC_NS)


class OAIError(Exception):
    """An OAI-PMH error: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def datestamp(when: datetime) -> str:
    """UTC seconds granularity, as OAI-PMH writes dates."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(text: str, *, end: bool) -> datetime:
    for fmt, step in (("%Y-%m-%dT%H:%M:%SZ", timedelta(seconds=1)),
                      ("%Y-%m-%d", timedelta(days=1))):
        try:
            when = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return when + step - timedelta(microseconds=1) if end else when
    raise OAIError("badArgument", f"date {text!r} is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


def _token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def _untoken(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(state, dict) or state.get("p") not in FORMATS:
            raise ValueError(token)
        return state
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise OAIError("badResumptionToken", "the resumption token is not one of ours") from None


def respond(records: Records, args: Mapping[str, str], base_url: str, *,
            page_size: int = PAGE_SIZE) -> bytes:
    """The OAI-PMH response (XML bytes) to the query ``args``."""
    verb = args.get("verb", "")
    request = OAI.request(base_url)
    try:
        if verb not in VERBS:
            raise OAIError("badVerb", f"unknown verb {verb!r}; expected one of {', '.join(VERBS)}")
        allowed = VERBS[verb] | {"verb"}
        if verb in ("ListIdentifiers", "ListRecords", "ListSets"):
            allowed |= {"resumptionToken"}
        extra = set(args) - allowed
        if extra:
            raise OAIError("badArgument", f"{verb} takes no {', '.join(sorted(extra))}")
        if "resumptionToken" in args and set(args) - {"verb", "resumptionToken"}:
            raise OAIError("badArgument", "resumptionToken is an exclusive argument")
        for key, value in args.items():
            if key != "verb" and key in allowed:
                request.set(key, value)
        request.set("verb", verb)
        body = _VERB_BUILDERS[verb](records, args, base_url, page_size)
    except OAIError as err:
        body = OAI.error(str(err), code=err.code)
    root = OAI("OAI-PMH", OAI.responseDate(datestamp(datetime.now(UTC))), request, body)
    root.set(f"{{{XSI}}}schemaLocation",
             f"{OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _identify(records: Records, args: Mapping[str, str], base_url: str, _: int) -> Any:
    earliest = records.earliest() or datetime.now(UTC)
    return OAI.Identify(OAI.repositoryName(records.publisher), OAI.baseURL(base_url),
                      OAI.protocolVersion("2.0"), OAI.adminEmail("admin@localhost"),
                      OAI.earliestDatestamp(datestamp(earliest)), OAI.deletedRecord("persistent"),
                      OAI.granularity("YYYY-MM-DDThh:mm:ssZ"))


def _formats(records: Records, args: Mapping[str, str], base_url: str, _: int) -> Any:
    if "identifier" in args:
        _record(records, args["identifier"])
    return OAI.ListMetadataFormats(*(
        OAI.metadataFormat(OAI.metadataPrefix(prefix), OAI.schema(schema),
                           OAI.metadataNamespace(ns))
        for prefix, (schema, ns) in FORMATS.items()))


def _sets(records: Records, args: Mapping[str, str], base_url: str, _: int) -> Any:
    if "resumptionToken" in args:
        raise OAIError("badResumptionToken", "ListSets answers in one page")
    names = records.collections()
    if not names:
        raise OAIError("noSetHierarchy", "no collections have published records")
    return OAI.ListSets(*(OAI.set(OAI.setSpec(n), OAI.setName(n)) for n in names))


def _record(records: Records, identifier: str) -> RecordView:
    if not identifier.startswith(ID_PREFIX):
        raise OAIError("idDoesNotExist", f"{identifier!r} is not an identifier of this repository")
    try:
        return records.get(identifier[len(ID_PREFIX):])
    except UnknownRecordError:
        raise OAIError("idDoesNotExist", f"no record {identifier}") from None


def _prefix(args: Mapping[str, str]) -> str:
    prefix = args.get("metadataPrefix")
    if prefix is None:
        raise OAIError("badArgument", "metadataPrefix is required")
    if prefix not in FORMATS:
        raise OAIError("cannotDisseminateFormat",
                       f"format {prefix!r} is not offered; use {' or '.join(FORMATS)}")
    return prefix


def _get_record(records: Records, args: Mapping[str, str], base_url: str, _: int) -> Any:
    prefix = _prefix(args)
    return OAI.GetRecord(_full(_record(records, args["identifier"]), prefix))


def _list(records: Records, args: Mapping[str, str], page_size: int, full: bool) -> Any:
    if "resumptionToken" in args:
        state = _untoken(args["resumptionToken"])
    else:
        state = {"p": _prefix(args), "f": args.get("from"), "u": args.get("until"),
                 "s": args.get("set"), "a": None}
        if state["f"] and state["u"] and len(state["f"]) != len(state["u"]):
            raise OAIError("badArgument", "from and until must have the same granularity")
    since = _parse_date(state["f"], end=False) if state["f"] else None
    until = _parse_date(state["u"], end=True) if state["u"] else None
    after = (datetime.fromisoformat(state["a"][0]), int(state["a"][1])) if state["a"] else None
    page = records.page(since=since, until=until, collection=state["s"], after=after,
                        limit=page_size + 1)
    if not page:
        raise OAIError("noRecordsMatch", "no records match these arguments")
    more, page = len(page) > page_size, page[:page_size]
    items = [_full(r, state["p"]) if full else _header(r) for r in page]
    if more:
        last = page[-1]
        items.append(OAI.resumptionToken(_token({**state, "a": [last.updated_at.isoformat(),
                                                             last.seq]})))
    elif "resumptionToken" in args:
        items.append(OAI.resumptionToken())  # the last page ends with an empty token
    return items


def _list_identifiers(records: Records, args: Mapping[str, str], base_url: str,
                      page_size: int) -> Any:
    return OAI.ListIdentifiers(*_list(records, args, page_size, full=False))


def _list_records(records: Records, args: Mapping[str, str], base_url: str,
                  page_size: int) -> Any:
    return OAI.ListRecords(*_list(records, args, page_size, full=True))


def _header(record: RecordView) -> Any:
    header = OAI.header(OAI.identifier(ID_PREFIX + record.pid),
                      OAI.datestamp(datestamp(record.updated_at)),
                      *([OAI.setSpec(record.collection)] if record.collection else []))
    if record.deleted:
        header.set("status", "deleted")
    return header


def _full(record: RecordView, prefix: str) -> Any:
    if record.deleted:
        return OAI.record(_header(record))
    payload = (etree.fromstring(datacite.to_xml(record.datacite)) if prefix == "oai_datacite"
               else oai_dc(record.datacite))
    return OAI.record(_header(record), OAI.metadata(payload))


def oai_dc(doc: Mapping[str, Any]) -> Any:
    """Dublin Core (``oai_dc``) of DataCite metadata."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})
    fields = [
        *(("title", t["title"]) for t in doc["titles"]),
        *(("creator", c["name"]) for c in doc["creators"]),
        ("publisher", doc["publisher"]["name"]),
        ("date", doc["publicationYear"]),
        ("type", doc["types"]["resourceTypeGeneral"]),
        *(("subject", s["subject"]) for s in doc.get("subjects", [])),
        *(("description", d["description"]) for d in doc.get("descriptions", [])),
        *(("identifier", i["alternateIdentifier"]) for i in doc["alternateIdentifiers"]),
        *(("relation", r["relatedIdentifier"]) for r in doc.get("relatedIdentifiers", [])),
        *(("rights", r["rightsUri"]) for r in doc["rightsList"]),
    ]
    for name, value in fields:
        root.append(DC(name, str(value)))
    return root


_VERB_BUILDERS = {"Identify": _identify, "ListMetadataFormats": _formats, "ListSets": _sets,
                  "GetRecord": _get_record, "ListIdentifiers": _list_identifiers,
                  "ListRecords": _list_records}
