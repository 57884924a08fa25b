"""Data-shop benchmark: events selected and written per second at 10⁷ events.

Writes ``--events`` KASCADE-like air showers as Zarr (the sample layout), then times the
shop's own job function (:func:`wisehub.publish.shop.job.fulfil`: open through the catalogue,
cut with numpy, gather with Dask, write HDF5 with provenance) for a knee selection of four
columns. The reference, measured in the same run, is a direct numpy selection of the same
events from arrays already in memory (no reading, no writing), so the ratio is what reading
the store and writing the file cost over the bare selection.

    python benchmarks/bench_shop.py [--events 10000000] [--format hdf5]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import yaml
from wisehub.config import Settings
from wisehub.publish.shop.job import fulfil
from wisehub.publish.shop.settings import ShopSettings
from wisehub.publish.shop.shop import Shop
from wisehub.samples.showers import make_events
from wisehub.storage.zarrio import write_zarr

COLUMNS = ["energy_ev", "zenith_deg", "shower_size", "muon_number"]
CUTS = {"energy_ev": {"min": 2e15, "max": 1e17}, "zenith_deg": {"max": 30}}


def _catalog(path: Path, store: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "version": 2, "aliases": {}, "user_parameters": {},
        "metadata": {"creator": "bench", "licence": "CC0-1.0"},
        "data": {"showers": {"datatype": "intake.readers.datatypes:Zarr", "metadata": {},
                             "user_parameters": {}, "kwargs": {"url": str(store)}}},
        "entries": {"events": {
            "reader": "intake.readers.readers:XArrayDatasetReader", "user_parameters": {},
            "kwargs": {"args": ["{data(showers)}"], "engine": "zarr", "chunks": {}},
            "output_instance": "xarray:Dataset",
            "metadata": {"title": "bench showers", "kind": "event-table"}}}}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--format", default="hdf5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["WISEHUB_DATA_DIR"] = str(root)
        events = make_events(args.events, seed=7)
        write_zarr(xr.Dataset({k: ("event", v) for k, v in events.items()})
                   .chunk({"event": 2**20}), str(root / "showers.zarr"))
        shop = Shop(Settings(data_dir=root), ShopSettings(
            state_dir=root / "shop", catalogs=[_catalog(root / "bench.yaml",
                                                        root / "showers.zarr")],
            max_events=args.events, max_bytes=1 << 40), user="bench")
        request = {"dataset": "bench/events", "cuts": CUTS, "columns": COLUMNS,
                   "format": args.format}

        def direct() -> dict[str, np.ndarray]:
            keep = ((events["energy_ev"] >= 2e15) & (events["energy_ev"] <= 1e17)
                    & (events["zenith_deg"] <= 30))
            return {c: events[c][keep] for c in COLUMNS}

        start = time.perf_counter()
        expected = direct()
        reference = time.perf_counter() - start
        order = shop.book.save(shop.prepare(request))
        start = time.perf_counter()
        done = fulfil(str(shop.book.directory(order.id).with_suffix(".json")))
        elapsed = time.perf_counter() - start
        selected = expected["energy_ev"].size
        assert done["events"] == selected
        size = (shop.book.directory(order.id) / done["file"]).stat().st_size
        print(f"{args.events} events, {selected} selected, {len(COLUMNS)} columns, "
              f"{args.format} file of {size / 1e6:.1f} MB")
        print(f"reference: numpy selection in memory: {reference:.3f} s "
              f"({args.events / reference / 1e6:.1f} M events scanned/s)")
        print(f"shop job (read Zarr, select, write {args.format}): {elapsed:.2f} s, "
              f"{args.events / elapsed / 1e6:.2f} M events scanned/s, "
              f"{selected / elapsed / 1e6:.2f} M events written/s "
              f"({elapsed / reference:.1f}× the in-memory selection)")


if __name__ == "__main__":
    main()
