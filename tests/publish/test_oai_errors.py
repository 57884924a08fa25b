"""OAI-PMH protocol errors: each bad request gets the protocol's error code and a clear
message (parsed with lxml, not our code). No service needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import create_engine
from wisehub.lineage.schema import upgrade
from wisehub.publish.oai import respond
from wisehub.publish.records import Records

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}


@pytest.fixture
def records(tmp_path: Path) -> Records:
    engine = create_engine(f"sqlite:///{tmp_path / 'lineage.sqlite'}")
    upgrade(engine)
    return Records(engine, None)


@pytest.mark.parametrize(("args", "code", "says"), [
    ({"verb": "Explode"}, "badVerb", "unknown verb 'Explode'"),
    ({}, "badVerb", "unknown verb ''"),
    ({"verb": "ListRecords"}, "badArgument", "metadataPrefix is required"),
    ({"verb": "ListRecords", "metadataPrefix": "marc"}, "cannotDisseminateFormat", "'marc'"),
    ({"verb": "ListRecords", "resumptionToken": "not-ours"}, "badResumptionToken", "not one"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument",
     "'yesterday'"),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-01-01",
      "until": "2026-01-02T00:00:00Z"}, "badArgument", "same granularity"),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "doi:10.1/x"},
     "idDoesNotExist", "not an identifier"),
    ({"verb": "Identify", "set": "x"}, "badArgument", "takes no set"),
    ({"verb": "ListSets"}, "noSetHierarchy", "no collections"),
])
def test_bad_requests_get_protocol_errors(records: Records, args: dict[str, str], code: str,
                                          says: str) -> None:
    root = etree.fromstring(respond(records, args, "http://hub/oai"))
    [error] = root.findall("o:error", NS)
    assert error.get("code") == code
    assert says in error.text
