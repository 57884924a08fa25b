"""Landing pages through the hub: DataCite JSON and XML by content negotiation, HTML that
renders in Debian's chromium (Playwright), and nothing for anonymous visitors of records
that are not world-readable.

Starts: the session hub with the publish service (tests/publish/conftest.py).
"""

from __future__ import annotations

import pytest
import requests
from datacite import schema45
from lxml import etree
from wisehub.hub.launcher import RunningHub
from wisehub.lineage import LineageStore
from wisehub.lineage.store import ProcessRecord
from wisehub.publish import promote

pytestmark = pytest.mark.hub

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def published(hub_store: LineageStore) -> tuple[str, str]:
    """A world master bias derived from a world raw frame."""
    raw = hub_store.register("RawFrame", name="raw-9", attrs={"instrument": "WHCAM"})
    bias = hub_store.register("MasterBias", name="bias-9", meta={
        "title": "Master bias <chip 1>", "description": "Median of 5 bias frames."},
        process=ProcessRecord(recipe="MasterBias", code_version="c1"), used={"raws": [raw.pid]})
    promote(hub_store, raw.pid, "world", collection="whcam")
    promote(hub_store, bias.pid, "world", collection="whcam")
    return raw.pid, bias.pid


def _url(hub: RunningHub, pid: str) -> str:
    return f"{hub.url}services/publish/records/{pid}"


def test_content_negotiation(publish_hub: RunningHub, published: tuple[str, str]) -> None:
    raw, bias = published
    as_json = requests.get(_url(publish_hub, bias), timeout=30,
                           headers={"Accept": "application/vnd.datacite.datacite+json"})
    assert as_json.status_code == 200
    assert as_json.headers["Content-Type"].startswith("application/vnd.datacite.datacite+json")
    doc = as_json.json()
    assert schema45.validate(doc)
    assert {"relatedIdentifier": f"urn:uuid:{raw}", "relatedIdentifierType": "URN",
            "relationType": "IsDerivedFrom"} in doc["relatedIdentifiers"]
    as_xml = requests.get(_url(publish_hub, bias), timeout=30,
                          headers={"Accept": "application/xml"})
    root = etree.fromstring(as_xml.content)
    assert root.findtext("{http://datacite.org/schema/kernel-4}titles/"
                         "{http://datacite.org/schema/kernel-4}title") == "Master bias <chip 1>"


def test_not_world_readable_is_not_found(publish_hub: RunningHub,
                                         hub_store: LineageStore) -> None:
    product = hub_store.register("MasterBias", name="project-bias")
    promote(hub_store, product.pid, "project")
    answer = requests.get(_url(publish_hub, product.pid), timeout=30,
                          headers={"Accept": "application/json"})
    assert answer.status_code == 404
    assert "project-bias" not in answer.text


def test_landing_page_renders_in_chromium(publish_hub: RunningHub,
                                          published: tuple[str, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    raw, bias = published
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(_url(publish_hub, bias))
            expect(page.locator("h1")).to_have_text("Master bias <chip 1>")  # escaped, shown
            expect(page.get_by_role("link", name="Creative Commons Attribution 4.0 International")
                   ).to_have_attribute("rel", "license")
            page.locator("#lineage a").click()  # follow the lineage to the raw frame's record
            expect(page).to_have_url(_url(publish_hub, raw))
            expect(page.locator("h1")).to_have_text("RawFrame raw-9")
            page.get_by_role("link", name="DataCite JSON").click()
            assert schema45.validate(page.evaluate("() => JSON.parse(document.body.innerText)"))
        finally:
            browser.close()


def test_group_record_is_seen_by_members_only(publish_hub: RunningHub,
                                              hub_store: LineageStore) -> None:
    """A logged-in member of the record's group reads its landing page; a logged-in
    non-member and an anonymous visitor get 404, and harvesters never see it."""
    from sickle import Sickle
    from sickle.oaiexceptions import IdDoesNotExist
    from wisehub.publish import Records

    record = Records(hub_store.engine, None).record_dataset(
        "labcat", "secret-showers", {"title": "Lab-only showers", "privilege": "group",
                                     "group": "lab", "creator": "alice", "licence": "CC0-1.0"})
    tokens = {}
    for user in ("alice", "pupil1"):
        assert publish_hub.api("POST", f"/users/{user}").status_code in (201, 409)
        tokens[user] = publish_hub.api("POST", f"/users/{user}/tokens",
                                       json={"expires_in": 600}).json()["token"]

    def status(token: str | None) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        return requests.get(_url(publish_hub, record.pid), headers=headers, timeout=30)

    member = status(tokens["alice"])
    assert member.status_code == 200, member.text
    assert member.json()["titles"][0]["title"] == "Lab-only showers"
    for outsider in (tokens["pupil1"], None):
        answer = status(outsider)
        assert answer.status_code == 404 and "Lab-only" not in answer.text
    with pytest.raises(IdDoesNotExist):
        Sickle(f"{publish_hub.url}services/publish/oai", max_retries=2).GetRecord(
            identifier=f"oai:wisehub:{record.pid}", metadataPrefix="oai_dc")
