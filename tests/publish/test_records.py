"""Records: persistent ids, DataCite metadata validated by the ``datacite`` package, scoping,
and metadata that outlives deleted data. SQLite lineage store (no service)."""

from __future__ import annotations

from pathlib import Path

import pytest
from datacite import schema45
from lxml import etree
from wisehub.config import Settings
from wisehub.lineage import Context, LineageStore, PrivilegeError
from wisehub.lineage.store import ProcessRecord
from wisehub.publish.datacite import MetadataError, to_xml
from wisehub.publish.records import (
    RecordError,
    Records,
    UnknownRecordError,
    delete_data,
    promote,
)

# The repository's sample catalogue (wisehub.resources.catalog_dir() once a1 merges).
SAMPLES = Settings().catalog_path.with_name("samples.yaml")
KERNEL = "{http://datacite.org/schema/kernel-4}"


@pytest.fixture
def store(tmp_path: Path) -> LineageStore:
    """A fresh SQLite lineage store of its own (the in-memory URL is shared per process)."""
    return LineageStore(f"sqlite:///{tmp_path / 'lineage.sqlite'}",
                        Context("ada", projects=("cosmos",), project="cosmos"))


def _derived(store: LineageStore) -> tuple[str, str]:
    raw = store.register("RawFrame", name="raw-1", attrs={"instrument": "WHCAM"})
    bias = store.register("MasterBias", name="bias-1", meta={"title": "Master bias, night 1"},
                          process=ProcessRecord(recipe="MasterBias", code_version="c1"),
                          used={"raws": [raw.pid]})
    return raw.pid, bias.pid


def test_promoted_product_gets_valid_datacite_with_lineage(store: LineageStore) -> None:
    raw, bias = _derived(store)
    promote(store, raw, "world", collection="whcam")
    record = promote(store, bias, "world", collection="whcam")
    assert record is not None and record.pid == bias
    doc = record.datacite
    assert schema45.validate(doc)
    assert doc["titles"] == [{"title": "Master bias, night 1"}]
    assert doc["rightsList"][0]["rightsIdentifier"] == "cc-by-4.0"
    relations = {(r["relationType"], r["relatedIdentifier"]) for r in doc["relatedIdentifiers"]}
    assert relations == {("IsDerivedFrom", f"urn:uuid:{raw}"),
                         ("IsPartOf", "urn:wisehub:collection:whcam")}
    xml = etree.fromstring(to_xml(doc))
    assert xml.tag == f"{KERNEL}resource"
    assert xml.find(f"{KERNEL}publisher").text == "wisehub"
    kinds = [e.get("relationType") for e in xml.iter(f"{KERNEL}relatedIdentifier")]
    assert sorted(kinds) == ["IsDerivedFrom", "IsPartOf"]


def test_instrument_and_group_promotion(store: LineageStore) -> None:
    raw, _ = _derived(store)
    record = promote(store, raw, "project")
    assert record is not None and record.privilege == "project"
    assert record.datacite["relatedItems"][0]["titles"] == [{"title": "WHCAM"}]
    grouped = store.as_context(Context("ada", groups=("lab",), group="lab"))
    private = grouped.register("Note", name="n")
    assert promote(grouped, private.pid, "group") is None  # group: no record
    with pytest.raises(RecordError, match="only products promoted to project or world"):
        Records.of(grouped).record_product(grouped, private.pid)


def test_scoping_anonymous_sees_world_only(store: LineageStore) -> None:
    raw, bias = _derived(store)
    promote(store, raw, "project")
    promote(store, bias, "world")
    anonymous = Records(store.engine, None)
    assert [r.pid for r in anonymous.page()] == [bias]
    with pytest.raises(UnknownRecordError):
        anonymous.get(raw)
    outsider = Records(store.engine, Context("bob"))
    assert [r.pid for r in outsider.page()] == [bias]
    member = Records(store.engine, Context("carol", projects=("cosmos",)))
    assert {r.pid for r in member.page()} == {raw, bias}


def test_deleted_data_keeps_its_record(store: LineageStore) -> None:
    _, bias = _derived(store)
    before = promote(store, bias, "world")
    assert before is not None and not before.deleted
    after = delete_data(store, bias)
    assert after is not None and after.deleted
    again = Records(store.engine, None).get(bias)
    assert again.deleted and again.datacite == before.datacite
    assert again.updated_at > before.updated_at  # harvesters see the change


def test_only_the_owner_promotes(store: LineageStore) -> None:
    _, bias = _derived(store)
    bob = store.as_context(Context("bob", projects=("cosmos",)))
    store.promote(bias, "project")
    with pytest.raises(PrivilegeError):
        promote(bob, bias, "world")
    assert Records(store.engine, None).page() == []


def test_sample_catalogue_records_validate(store: LineageStore) -> None:
    records = Records.of(store).record_catalog(SAMPLES)
    assert {r.source.split("#")[1] for r in records} >= {"whcam.raw", "hubble.galaxies",
                                                          "showers.events"}
    for record in records:
        assert schema45.validate(record.datacite), record.source
        assert record.collection == "samples" and record.privilege == "world"
        assert record.datacite["rightsList"][0]["rightsIdentifier"] == "cc0-1.0"
    again = Records.of(store).record_catalog(SAMPLES)
    assert [r.pid for r in again] == [r.pid for r in records]  # ids are persistent


def test_bad_licence_is_refused_and_nothing_recorded(store: LineageStore) -> None:
    _, bias = _derived(store)
    store.promote(bias, "world")
    with pytest.raises(MetadataError, match="licence 'GPL' is not offered"):
        Records.of(store).record_product(store, bias, licence="GPL")
    assert Records(store.engine, None).page() == []
