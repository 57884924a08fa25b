"""Publishing benchmark: OAI-PMH ``ListRecords`` latency with 10⁵ world records.

Bulk-inserts ``--records`` records (DataCite JSON of a typical product record) into a SQLite
lineage database, then times one ``ListRecords`` page (100 records) at the start of the
harvest, deep in it (through a resumption token) and within a date range, in ``oai_dc`` and
``oai_datacite``. The reference, measured in the same run, is a plain SQL select of the same
100 rows (all columns, JSON decoded), so the ratio is what the protocol (paging condition,
XML, DataCite conversion) costs over reading the rows. Goal: a deep page costs about what
the first page does (no offset scans), i.e. latency does not grow with the archive.

    python benchmarks/bench_publish.py [--records 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select
from wisehub.lineage.schema import upgrade
from wisehub.publish import datacite
from wisehub.publish.models import PublishedRecord
from wisehub.publish.oai import respond
from wisehub.publish.records import Records

PAGE = 100
BASE = "http://127.0.0.1/services/publish/oai"


def _median(fn: Callable[[], object], repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fill(engine, n: int, start: datetime) -> None:
    rows = []
    for i in range(n):
        pid = str(uuid.uuid4())
        when = start + timedelta(seconds=i)
        doc = datacite.metadata(
            pid=pid, title=f"Master bias {i}", creators=["ada"], publisher="wisehub",
            year=2026, resource_type="MasterBias", licence="CC-BY-4.0",
            subjects=["astronomy", "MasterBias"], instrument="WHCAM",
            derived_from=[str(uuid.uuid4()) for _ in range(5)],
            part_of=f"urn:wisehub:collection:night-{i % 30}", dates={"Created": when})
        rows.append({"pid": pid, "kind": "product", "source": pid,
                     "collection": f"night-{i % 30}", "owner": "ada", "group_name": None,
                     "project": None, "privilege": 4, "datacite": doc, "created_at": when,
                     "updated_at": when, "deleted_at": None})
        if len(rows) == 20000 or i == n - 1:
            with engine.begin() as conn:
                conn.execute(PublishedRecord.__table__.insert(), rows)
            rows = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'lineage.sqlite'}")
        upgrade(engine)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        t0 = time.perf_counter()
        _fill(engine, args.records, start)
        print(f"inserted {args.records} records in {time.perf_counter() - t0:.1f} s")
        records = Records(engine, None)
        first = respond(records, {"verb": "ListRecords", "metadataPrefix": "oai_dc"}, BASE)
        assert first.count(b"<record>") == PAGE, "a full first page"
        deep = records.page(limit=1, after=None, since=start + timedelta(
            seconds=args.records * 9 // 10))[0]
        token_args = {"verb": "ListRecords", "resumptionToken": _token(
            "oai_datacite", deep.updated_at, deep.seq)}
        middle = start + timedelta(seconds=args.records // 2)
        ranged = {"verb": "ListRecords", "metadataPrefix": "oai_datacite",
                  "from": middle.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "until": (middle + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}

        def plain() -> list[dict]:
            """The rows of the page at 90 %, by the same index, JSON decoded."""
            table = PublishedRecord.__table__
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(
                    select(table).where(table.c.updated_at > deep.updated_at)
                    .order_by(table.c.updated_at, table.c.seq).limit(PAGE))]

        assert len(plain()) == PAGE
        reference = _median(plain)
        print(f"reference: plain SQL select of the 100 rows at 90 %: {reference * 1e3:.1f} ms")
        cases = {
            "first page, oai_dc": {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
            "first page, oai_datacite": {"verb": "ListRecords", "metadataPrefix": "oai_datacite"},
            "page at 90 % via resumptionToken, oai_datacite": token_args,
            "from/until one hour, oai_datacite": ranged,
        }
        for name, query in cases.items():
            latency = _median(lambda q=query: respond(records, q, BASE))
            print(f"ListRecords {name}: {latency * 1e3:.1f} ms "
                  f"({latency / reference:.1f}× the plain select)")


def _token(prefix: str, when: datetime, seq: int) -> str:
    from wisehub.publish.oai import _token as encode

    return encode({"p": prefix, "f": None, "u": None, "s": None,
                   "a": [when.isoformat(), seq]})


if __name__ == "__main__":
    main()
