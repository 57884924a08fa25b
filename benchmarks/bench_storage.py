"""Zarr through wisehub on a real Ceph RGW, against raw S3 GET/PUT of the same objects.

Starts its own single-node Ceph (memstore OSD, RGW) on 127.0.0.1. Each round, in an order
that alternates between rounds:

* **wisehub write**: ``publish()`` of a dask-backed ``(frame, y, x)`` float32 stack, i.e.
  a staged Zarr write (chunks PUT at their final keys under a lease, the metadata held back
  in memory), the commit (the metadata consolidated and written in, root last; no chunk
  copied), checksum from one listing, removal of the lease, and the catalogue entry;
* **raw write**: ``s3fs.pipe`` of the same bytes (each chunk object's) to new keys;
* **wisehub read**: the catalogue entry opened through wisehub's catalogue (``wh.catalog``,
  lazy, dask-backed; raw chunks are fetched straight into the tasks' arrays,
  :mod:`wisehub.storage.objectread`) and ``persist()``-ed: every chunk read into memory, as
  the raw read holds every object;
* **plain intake read**: the same entry opened through plain intake, without wisehub (zarr's
  own read path), ``persist()``-ed;
* **raw read**: ``s3fs.cat`` of every object of the published product.

Then the cost of small requests, where a publish of a small product spends its time:

* a GET of a 300-byte object against a HEAD of it (median of 20 each): RGW answers both at
  once only with ``tcp_nodelay`` on its frontend; without it a GET waited 40 ms for the
  client's delayed ACK (44 ms against 4);
* ``publish()`` of a small product (2 × 64 × 64 float32) against plain xarray ``to_zarr`` of
  it to the same RGW (median of 10): what staging, commit, checksum and catalogue entry cost
  on top of the write itself.

A first round warms up and is not counted. Each round reads its product three times each
way, in alternating order, and keeps the median. Throughputs are medians over the counted
rounds, in MB/s of Zarr object bytes; the ratio is wisehub / raw (goal: at least 0.9).

What closed the gap (first measured at 0.57 for writes and 0.40 for reads):

* reads: s3fs fetched each chunk with a HEAD before its GET (its per-object concurrency,
  ``max_concurrency`` > 1); wisehub's storage options and catalogue entries set it to 1,
  as Zarr already fetches chunks in parallel;
* reads: dask's local scheduler runs one task per core, so a scan of one-chunk tasks had two
  GETs in flight (0.86 of the raw read, which has all 32); the object reader now fetches
  ahead of a run of chunks (``wisehub.storage.readahead``);
* writes: dask's local scheduler had one thread per core, so two PUTs were in flight;
  every staged write to object storage now runs with 16 threads (``Storage.staged``);
* the rig: the dev Ceph's RGW quota-sync threads spun (intervals of 0) and an idle RGW
  and OSD took 75 % of both cores; with 1 s they idle at 2 %;
* measurement: on this VM memory is slow to touch the first time, in the client and in
  the memstore OSD, and whichever side met fresh memory first lost by up to 2x; each write
  now follows a deletion of the same size and each timed read follows an untimed one.

Chunk size: one 2048 x 2048 float32 frame per chunk, 16 MiB objects, uncompressed.
A PUT/GET costs a fixed few ms on top of its bytes, so 16 MiB keeps that small, while
32 chunks still give enough requests in flight to keep RGW busy on both cores; 64 MiB
objects read at half the rate (fewer requests in flight), and 1 MiB chunks, even
grouped 16 to a task, at a third.
(The former commit copied every chunk server-side, and RGW re-wrote each object's 4 MiB
head: a quarter of the bytes at 16 MiB. The commit now copies only metadata.)
Uncompressed, because the frames are noise (incompressible), so the benchmark measures
storage, not a codec.

Run: ``make bench`` or ``python benchmarks/bench_storage.py [--mib 512] [--rounds 6]``.
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
from wisehub.catalog.platform import open_catalog
from wisehub.catalog.publish import publish
from wisehub.config import Settings
from wisehub.dev.ceph import ceph_cluster
from wisehub.storage.s3 import S3Storage, open_s3, s3_env

FRAME = 2048  # pixels per side: one float32 frame = 16 MiB = one chunk object
READ_REPEATS = 3  # reads of each product per round (one takes about 0.6 s)


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


def _chunk_objects(ds: xr.Dataset) -> list[bytes]:
    """The bytes of each chunk object as Zarr stores them: uncompressed, one frame each."""
    return [frame.tobytes() for frame in ds["data"].values]


def _wisehub_read(catalog: Path, settings: Settings, name: str, shape: tuple[int, ...]) -> None:
    back = open_catalog(catalog, settings)[name].read().persist()
    assert back["data"].shape == shape


def _intake_read(catalog: Path, name: str, shape: tuple[int, ...]) -> None:
    back = intake.from_yaml_file(str(catalog))[name].read().persist()
    assert back["data"].shape == shape


def _round(store: S3Storage, settings: Settings, ds: xr.Dataset, blobs: list[bytes],
           catalog: Path, raw_first: bool) -> dict[str, float]:
    """Write, read and delete one product each way; ``raw_first`` alternates the order.

    Each write follows a deletion of about as much data, and both timed reads follow an
    untimed one: on this VM the OSD's and the client's fresh memory is slow to touch the
    first time, and whichever side met it first lost by up to 2x.
    """
    name = f"bench-{uuid.uuid4().hex[:6]}"
    times: dict[str, float] = {}

    def raw_write() -> None:
        raw_dir = store.url(f"world/raw-{name}")
        times["raw_write"], _ = _timed(lambda: store.fs.pipe(
            {f"{raw_dir}/{i}": blob for i, blob in enumerate(blobs)}))
        store.fs.rm(raw_dir, recursive=True)

    def wisehub_write_and_reads() -> None:
        times["write"], stored = _timed(lambda: publish(
            ds, name, catalog, privilege="world", settings=settings, storage=store))
        times["mb"] = stored.size / 1e6
        objects = sorted(store.fs.find(stored.uri))
        assert store.fs.cat_file(next(o for o in objects if "/c/" in o)) in blobs
        shape = ds["data"].shape
        reads = [("raw_read", lambda: store.fs.cat(objects) and None),  # keeps nothing alive
                 ("read", lambda: _wisehub_read(catalog, settings, name, shape)),
                 ("intake_read", lambda: _intake_read(catalog, name, shape))]
        reads[0][1]()  # untimed
        taken: dict[str, list[float]] = {what: [] for what, _ in reads}
        for repeat in range(READ_REPEATS):  # a read is short: repeated, in alternating order
            for what, action in (reads if raw_first == (repeat % 2 == 0) else reads[::-1]):
                taken[what].append(_timed(action)[0])
        times.update({what: statistics.median(seconds) for what, seconds in taken.items()})
        store.fs.rm(stored.uri, recursive=True)

    for step in ((raw_write, wisehub_write_and_reads) if raw_first
                 else (wisehub_write_and_reads, raw_write)):
        step()
    mb = times.pop("mb")
    return {"mb": mb} | {what: mb / seconds for what, seconds in times.items()}


def _median_s(action, times: int) -> float:
    return statistics.median(_timed(action)[0] for _ in range(times))


def _small_requests(store: S3Storage, settings: Settings, catalog: Path) -> dict[str, float]:
    """Median seconds of a small GET and HEAD, and of a small product's publish and plain
    ``to_zarr`` (each after one untimed call)."""
    probe = store.url("world/bench-probe")
    store.fs.pipe_file(probe, b"x" * 300)
    small = xr.Dataset({"data": (("frame", "y", "x"), da.zeros((2, 64, 64), chunks=(1, 64, 64),
                                                               dtype=np.float32))})
    plain = [store.url(f"world/bench-plain-{i}.zarr") for i in range(11)]
    names = iter(f"bench-small-{i}" for i in range(11))

    def plain_write() -> None:
        small.to_zarr(plain.pop(), storage_options=store.storage_options, zarr_format=3)

    def our_write() -> None:
        publish(small, next(names), catalog, privilege="world", settings=settings, storage=store)

    result = {}
    for what, action, times in (("get", lambda: store.fs.cat_file(probe), 20),
                                ("head", lambda: store.fs.info(probe), 20),
                                ("publish", our_write, 10), ("to_zarr", plain_write, 10)):
        action()
        result[what] = _median_s(action, times)
    return result


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print throughputs and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512, help="dataset size (MiB)")
    parser.add_argument("--rounds", type=int, default=6)
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
        blobs = _chunk_objects(ds)
        catalog = Path(tmp) / "bench.yaml"
        _round(store, settings, ds, blobs, catalog, raw_first=True)  # warm-up
        results = [_round(store, settings, ds, blobs, catalog, raw_first=i % 2 == 0)
                   for i in range(args.rounds)]
        small = _small_requests(store, settings, Path(tmp) / "small.yaml")
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"bench_storage: Zarr of {median['mb']:.0f} MB ({ds['data'].shape[0]} chunks of "
          f"16 MiB, uncompressed) on Ceph RGW, median of {args.rounds} rounds, "
          f"load average {load}")
    for what in ("write", "read"):
        ours, raw = median[what], median[f"raw_{what}"]
        print(f"  {what:5s}: wisehub {ours:7.1f} MB/s   raw s3fs {raw:7.1f} MB/s   "
              f"ratio {ours / raw:.2f} (goal >= 0.9)")
    print(f"  read through plain intake (zarr's read path): {median['intake_read']:7.1f} MB/s"
          f"   ratio {median['intake_read'] / median['raw_read']:.2f}")
    print(f"  small GET {small['get'] * 1e3:.1f} ms, HEAD {small['head'] * 1e3:.1f} ms: ratio "
          f"{small['get'] / small['head']:.2f} (near 1 with tcp_nodelay; 10 without)")
    print(f"  small product: publish {small['publish'] * 1e3:.0f} ms, plain to_zarr "
          f"{small['to_zarr'] * 1e3:.0f} ms: ratio {small['publish'] / small['to_zarr']:.2f} "
          "(the cost of staging, commit, checksum and catalogue entry)")


if __name__ == "__main__":
    main()
