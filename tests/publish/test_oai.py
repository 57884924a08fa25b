"""OAI-PMH through the hub: an outside harvester (sickle) pages with resumption tokens, sees
records appear with publication and turn ``deleted`` with deletion, and never sees what is
not world-readable.

Starts: a real JupyterHub + configurable-http-proxy (the launcher behind ``wisehub up``) whose
configuration runs the ``publish`` service; SQLite lineage database in the session data dir.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from datacite import schema45
from sickle import Sickle
from sickle.oaiexceptions import IdDoesNotExist, NoRecordsMatch
from sqlalchemy import select
from wisehub.config import Settings
from wisehub.hub.launcher import RunningHub
from wisehub.lineage import LineageStore
from wisehub.lineage.context import PRIVILEGES
from wisehub.publish import Records, delete_data, promote
from wisehub.publish.models import PublishedRecord

pytestmark = pytest.mark.hub

PER_PAGE = 100  # the service's default page size


def _world_ids(store: LineageStore) -> set[str]:
    """The reference: every world record, by a plain select."""
    with store.engine.connect() as conn:
        return {f"oai:wisehub:{pid}" for pid in conn.scalars(select(PublishedRecord.pid).where(
            PublishedRecord.privilege >= PRIVILEGES["world"]))}


def _publish(store: LineageStore, n: int, collection: str) -> list[str]:
    pids = []
    for i in range(n):
        product = store.register("MasterBias", name=f"bias-{i}", attrs={"instrument": "WHCAM"},
                                 meta={"licence": "CC0-1.0"})
        promote(store, product.pid, "world", collection=collection)
        pids.append(product.pid)
    return pids


def test_harvest_every_record_with_resumption_tokens(publish_hub: RunningHub,
                                                     hub_store: LineageStore,
                                                     publish_settings: Settings) -> None:
    collection = f"night-{uuid.uuid4().hex[:6]}"
    published = _publish(hub_store, PER_PAGE + 30, collection)
    hidden = hub_store.register("MasterBias", name="project-only")
    promote(hub_store, hidden.pid, "project", collection=collection)
    Records.of(hub_store).record_catalog(publish_settings.catalog_path.with_name("samples.yaml"))

    sickle = Sickle(f"{publish_hub.url}services/publish/oai", max_retries=2)
    harvested = sickle.ListRecords(metadataPrefix="oai_datacite", ignore_deleted=False)
    ids, tokens = [], set()
    for record in harvested:
        ids.append(record.header.identifier)
        if harvested.resumption_token and harvested.resumption_token.token:
            tokens.add(harvested.resumption_token.token)
    assert len(ids) == len(set(ids)) == len(_world_ids(hub_store))
    assert set(ids) == _world_ids(hub_store)
    assert tokens, "more than one page, so the harvester followed resumption tokens"
    assert f"oai:wisehub:{hidden.pid}" not in ids

    in_set = [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc",
                                                           set=collection)]
    assert sorted(in_set) == sorted(f"oai:wisehub:{p}" for p in published)
    assert {s.setSpec for s in sickle.ListSets()} >= {collection, "samples"}
    with pytest.raises(IdDoesNotExist):
        sickle.GetRecord(identifier=f"oai:wisehub:{hidden.pid}", metadataPrefix="oai_dc")


def test_records_appear_and_are_marked_deleted(publish_hub: RunningHub,
                                                hub_store: LineageStore) -> None:
    sickle = Sickle(f"{publish_hub.url}services/publish/oai", max_retries=2)
    start = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    collection = f"fresh-{uuid.uuid4().hex[:6]}"
    with pytest.raises(NoRecordsMatch):
        list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set=collection))
    [pid] = _publish(hub_store, 1, collection)
    record = sickle.GetRecord(identifier=f"oai:wisehub:{pid}", metadataPrefix="oai_dc")
    assert not record.deleted and record.metadata["rights"] == [
        "https://creativecommons.org/publicdomain/zero/1.0/legalcode"]
    fresh = [h.identifier for h in sickle.ListIdentifiers(metadataPrefix="oai_dc",
                                                           **{"from": start})]
    assert f"oai:wisehub:{pid}" in fresh

    delete_data(hub_store, pid)
    gone = sickle.GetRecord(identifier=f"oai:wisehub:{pid}", metadataPrefix="oai_datacite")
    assert gone.deleted and gone.header.deleted
    kept = Records(hub_store.engine, None).get(pid)  # the metadata stays
    assert kept.deleted and schema45.validate(kept.datacite)
    listed = {h.identifier: h.deleted for h in sickle.ListIdentifiers(
        metadataPrefix="oai_dc", set=collection, ignore_deleted=False)}
    assert listed == {f"oai:wisehub:{pid}": True}
