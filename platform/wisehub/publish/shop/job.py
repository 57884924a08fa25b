"""The batch job of one order: select the events over Dask and write the output file.

Run by :mod:`wisehub.batch` as ``wisehub.publish.shop.job:fulfil`` with the order's JSON
file; the job's Dask cluster reads the Zarr data. It reports progress into the order folder;
the output file is a declared output of the job, so it becomes a lineage product.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from wisehub.publish.shop.datasets import open_entry
from wisehub.publish.shop.formats import WRITERS
from wisehub.publish.shop.orders import Order, report_progress
from wisehub.publish.shop.selection import Selection


def fulfil(order_file: str) -> dict[str, Any]:
    """Write the order's selection; return the file's name and the number of events.

    ``order_file`` is the order's JSON (:class:`~wisehub.publish.shop.orders.OrderBook`),
    as :meth:`~wisehub.publish.shop.shop.Shop.submit` stored it.
    """
    path = Path(order_file)
    order = Order.from_dict(json.loads(path.read_text()))
    directory = path.with_suffix("")
    selection = Selection.parse(order.selection)
    report_progress(directory, "selecting", 0.1)
    source = order.source
    data = open_entry(Path(source["catalog"]), source["entry"])
    rows = selection.indices(data)
    report_progress(directory, "reading", 0.4)
    chosen = data[source["columns"]].isel({source["table"]: rows}).compute()
    values = {name: np.asarray(chosen[name].values) for name in source["columns"]}
    report_progress(directory, "writing", 0.7)
    meta = {**order.meta, "events": str(rows.size),
            "created": datetime.now(UTC).isoformat(timespec="seconds")}
    out = directory / order.file
    tmp = out.with_name(f".{out.name}.tmp")
    WRITERS[selection.format].write(tmp, values, source["units"], source["table"], meta)
    tmp.replace(out)
    report_progress(directory, "done", 1.0)
    return {"file": order.file, "events": int(rows.size)}
