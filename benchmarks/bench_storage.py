"""Zarr through wisehub on a real Ceph RGW, against raw S3 GET/PUT of the same objects.

Starts its own single-node Ceph (memstore OSD, RGW) on 127.0.0.1. Each round:

* **wisehub write**: ``publish()`` of a dask-backed ``(frame, y, x)`` float32 stack, i.e.
  a staged Zarr write, checksum from the listing, verified server-side copy to the final
  key, removal of the staging keys, and the catalogue entry;
* **raw read**: ``s3fs.cat`` of every object of that product (the reference for reads);
* **raw write**: ``s3fs.pipe`` of the same bytes to new keys (the reference for writes);
* **wisehub read**: the catalogue entry opened through plain intake (lazy, dask-backed)
  and ``persist()``-ed: every chunk read into memory, as the raw read holds every object.
  (``load()`` would add one more copy, concatenating the chunks into one array.)

Throughputs are medians over the rounds, in MB/s of Zarr object bytes; the ratio is
wisehub / raw (goal: at least 0.8). Where the time goes: the commit (listing checksum,
server-side copy, verification) costs under 5 % of a write; the rest of the gap is zarr's
per-chunk encoding and copies on the client, which competes for the same two cores as
RGW and the OSD. Raising dask's threads beyond the cores did not change it measurably.

Chunk size: one 2048 x 2048 float32 frame per chunk, 16 MiB objects, uncompressed.
An RGW PUT/GET costs a fixed ~5-10 ms on top of its bytes, so chunks of 16 MiB keep that
overhead small, while 32 chunks still give s3fs/zarr enough concurrent requests to keep
both cores busy; RGW stores objects above 4 MiB as a head plus striped tail, and the
server-side copy at commit then mostly shares the tail instead of re-writing it.
Uncompressed, because the frames are noise (incompressible), so the benchmark measures
storage, not a codec.

Run: ``make bench`` or ``python benchmarks/bench_storage.py [--mib 512] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import dask
import dask.array as da
import intake
import numpy as np
import xarray as xr
from wisehub.catalog.publish import publish
from wisehub.config import Settings
from wisehub.dev.ceph import ceph_cluster
from wisehub.storage.s3 import S3Storage, open_s3, s3_env

FRAME = 2048  # pixels per side: one float32 frame = 16 MiB = one chunk object


def _stack(mib: int) -> xr.Dataset:
    frames = max(1, mib // 16)
    data = da.random.default_rng(42).standard_normal((frames, FRAME, FRAME),
                                                     chunks=(1, FRAME, FRAME), dtype=np.float32)
    ds = xr.Dataset({"data": (("frame", "y", "x"), data)})
    for variable in ds.data_vars.values():
        variable.encoding["compressors"] = None
    return ds.persist()  # generated once, in memory: the rounds time storage only


def _timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    out = action()
    return time.perf_counter() - start, out


def _raw_copy(store: S3Storage, objects: list[str], target: str) -> tuple[float, float]:
    """Seconds for a raw GET of every object, and for a raw PUT of the same bytes."""
    t_read, blobs = _timed(lambda: store.fs.cat(objects))
    renamed = {f"{target}/{i}": blobs[path] for i, path in enumerate(objects)}
    t_write, _ = _timed(lambda: store.fs.pipe(renamed))
    return t_read, t_write


def _round(store: S3Storage, settings: Settings, ds: xr.Dataset, catalog: Path
           ) -> dict[str, float]:
    name = f"bench-{uuid.uuid4().hex[:6]}"
    t_write, stored = _timed(lambda: publish(ds, name, catalog, privilege="world",
                                             settings=settings, storage=store))
    raw_dir = store.url(f"world/raw-{name}")
    t_raw_read, t_raw_write = _raw_copy(store, sorted(store.fs.find(stored.uri)), raw_dir)
    entry = intake.from_yaml_file(str(catalog))[name]
    t_read, back = _timed(lambda: entry.read().persist())
    assert back["data"].shape == ds["data"].shape
    store.fs.rm([stored.uri, raw_dir], recursive=True)
    mb = stored.size / 1e6
    return {"write": mb / t_write, "raw_write": mb / t_raw_write,
            "read": mb / t_read, "raw_read": mb / t_raw_read, "mb": mb}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print throughputs and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="dataset size (MiB)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="Consolidated metadata")
    with ceph_cluster(memstore_bytes=8 << 30) as ceph, \
            tempfile.TemporaryDirectory() as tmp, dask.config.set(scheduler="threads"):
        store = open_s3(ceph.endpoint_url, ceph.admin, "wisehub")
        store.ensure_bucket()
        settings = Settings(data_dir=tmp, user="bench", storage="s3",
                            s3={"endpoint_url": ceph.endpoint_url, "bucket": "wisehub"})
        for var, value in s3_env(ceph.endpoint_url, ceph.admin, "wisehub").items():
            os.environ[var] = value
        ds = _stack(args.mib)
        results = [_round(store, settings, ds, Path(tmp) / "bench.yaml")
                   for _ in range(args.rounds)]
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"bench_storage: Zarr of {median['mb']:.0f} MB ({ds['data'].shape[0]} chunks of "
          f"16 MiB, uncompressed) on Ceph RGW, median of {args.rounds} rounds")
    for what in ("write", "read"):
        ours, raw = median[what], median[f"raw_{what}"]
        print(f"  {what:5s}: wisehub {ours:7.1f} MB/s   raw s3fs {raw:7.1f} MB/s   "
              f"ratio {ours / raw:.2f} (goal >= 0.8)")


if __name__ == "__main__":
    main()
