"""Combine a float32 stack from Zarr on local disk: wisehub.reduce against its references.

Prints GB/s of input read (warm page cache) for mean, median and sigma-clip:
ours (a LocalCluster of worker processes, 1 thread each), ccdproc ``combine`` and
``Combiner`` (float32), numpy/astropy on the array already in memory (one core: plain
mean/median, the machine's ceiling, and the NaN-aware equivalents), and naive
``dask.array.from_zarr(...).mean(0)``; then the ratios ours/ccdproc and ours/numpy, and a
1-vs-2-worker scaling line.

Two stores hold the same stack: *tiled* (our choice: uncompressed, chunks of all frames ×
a band of rows, one task per chunk) and *frames* (one zstd-compressed chunk per frame, the
layout users often have; our combine regroups it with Dask's p2p rechunk).

    python benchmarks/bench_reduce.py                 # 64 × 2048 × 2048 (1 GiB)
    python benchmarks/bench_reduce.py --frames 16 --side 512   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import ccdproc
import dask
import dask.array as da
import numpy as np
import xarray as xr
from astropy.nddata import CCDData
from astropy.stats import sigma_clip
from distributed import Client, LocalCluster
from wisehub.reduce import combine
from wisehub.storage.zarrio import quiet_zarr_v3_warnings
from zarr.codecs import ZstdCodec

METHODS = ("mean", "median", "sigma_clip")
SIGMA = dict(sigma=3.0, maxiters=1, cenfunc="median", stdfunc="std")  # ccdproc's one pass


def make_stores(root: Path, frames: int, side: int) -> dict[str, str]:
    """The same random stack (with cosmic rays and NaNs) in the two layouts."""
    rng = np.random.default_rng(42)
    data = rng.normal(1000.0, 10.0, (frames, side, side)).astype(np.float32)
    hits = rng.integers(0, data.size, data.size // 10_000)
    data.flat[hits] += 3000.0
    data.flat[rng.integers(0, data.size, data.size // 100_000)] = np.nan
    rows = max(1, min(side, (128 * 2**20) // (frames * side * 4)))
    layouts = {
        "tiled": {"chunks": (frames, rows, side), "compressors": None},
        "frames": {"chunks": (1, side, side), "compressors": [ZstdCodec(level=1)]},
    }
    stores = {}
    for name, encoding in layouts.items():
        path = str(root / f"{name}.zarr")
        dataset = xr.Dataset({"data": (("frame", "y", "x"), data)})
        with quiet_zarr_v3_warnings():
            dataset.to_zarr(path, encoding={"data": encoding}, mode="w")
        stores[name] = path
    return stores


def timed(func: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` runs (the first run of each also warms caches)."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def open_stack(path: str) -> xr.DataArray:
    with quiet_zarr_v3_warnings():
        return xr.open_zarr(path, chunks={})["data"]


def ours(path: str, method: str) -> None:
    kw = SIGMA if method == "sigma_clip" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        combine(open_stack(path), method, **kw).compute()


def ccdproc_runs(array: np.ndarray) -> dict[str, dict[str, float]]:
    frames = [CCDData(frame, unit="adu") for frame in array]
    runs: dict[str, dict[str, float]] = {"ccdproc.combine": {}, "ccdproc.Combiner": {}}
    combine_kw = {"mean": dict(method="average"), "median": dict(method="median"),
                  "sigma_clip": dict(method="average", sigma_clip=True,
                                     sigma_clip_func="median", sigma_clip_dev_func="std")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method, kw in combine_kw.items():
            runs["ccdproc.combine"][method] = timed(
                lambda kw=kw: ccdproc.combine(frames, dtype=np.float32, mem_limit=64e9, **kw))

            def with_combiner(method: str = method) -> None:
                combiner = ccdproc.Combiner(frames, dtype=np.float32)
                if method == "sigma_clip":
                    combiner.sigma_clipping(low_thresh=3, high_thresh=3, func="median")
                (combiner.median_combine if method == "median" else combiner.average_combine)()

            runs["ccdproc.Combiner"][method] = timed(with_combiner)
    return runs


def numpy_runs(array: np.ndarray) -> dict[str, dict[str, float]]:
    """NaN-aware numpy/astropy (the same answer as ours), and plain numpy (the ceiling)."""
    def clipped() -> None:
        np.ma.masked_array(array, sigma_clip(array, axis=0, **SIGMA).mask).mean(axis=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aware = {"mean": timed(lambda: np.nanmean(array, axis=0), 2),
                 "median": timed(lambda: np.nanmedian(array, axis=0)),
                 "sigma_clip": timed(clipped)}
        ceiling = {"mean": timed(lambda: np.mean(array, axis=0), 3),
                   "median": timed(lambda: np.median(array, axis=0)),
                   "sigma_clip": aware["sigma_clip"]}
    return {"numpy nan-aware / astropy": aware, "numpy ceiling": ceiling}


def record(rate: dict, key: tuple, value: float) -> None:
    """Keep one figure and show it at once (the whole run takes minutes)."""
    rate[key] = value
    print(f"  {' / '.join(key)}: {value:.3f} GB/s", flush=True)


def ratio(rate: dict, ours_key: tuple, reference_key: tuple) -> float:
    return rate.get(ours_key, np.nan) / rate.get(reference_key, np.nan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-ccdproc", action="store_true", help="skip the slow references")
    args = parser.parse_args()
    gigabytes = args.frames * args.side**2 * 4 / 1e9
    rate = {}  # (what, store, method) -> GB/s

    with tempfile.TemporaryDirectory(prefix="bench-reduce-") as tmp:
        stores = make_stores(Path(tmp), args.frames, args.side)
        array = open_stack(stores["tiled"]).values  # also warms the page cache
        open_stack(stores["frames"]).load()
        print(f"stack {args.frames} x {args.side} x {args.side} float32 = {gigabytes:.2f} GB; "
              f"tiled store chunks {open_stack(stores['tiled']).data.chunksize}, uncompressed; "
              f"frame store chunks (1, {args.side}, {args.side}), zstd level 1")

        for what, runs in numpy_runs(array).items():
            for method, seconds in runs.items():
                record(rate, (what, "-", method), gigabytes / seconds)
        if not args.skip_ccdproc:
            for what, runs in ccdproc_runs(array).items():
                for method, seconds in runs.items():
                    record(rate, (what, "-", method), gigabytes / seconds)
        del array

        for workers in sorted({1, args.workers}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                                   dashboard_address=":0")
            client = Client(cluster)
            try:
                ours(stores["tiled"], "median")  # compile/load the kernels on every worker
                for store, path in stores.items():
                    if workers != args.workers and store != "tiled":
                        continue
                    for method in METHODS:
                        seconds = timed(lambda p=path, m=method: ours(p, m), 2)
                        record(rate, (f"ours, {workers} worker(s)", store, method),
                               gigabytes / seconds)
                    naive = timed(lambda p=path: da.from_zarr(p, component="data")
                                  .mean(axis=0).compute(), 2)
                    record(rate, (f"naive from_zarr.mean, {workers} worker(s)", store, "mean"),
                           gigabytes / naive)
            finally:
                client.close()
                with contextlib.suppress(TimeoutError):
                    cluster.close(timeout=60)  # busy machines are slow to stop workers
        with dask.config.set(scheduler="threads", num_workers=args.workers):
            ours(stores["tiled"], "mean")
            for method in METHODS:
                seconds = timed(lambda m=method: ours(stores["tiled"], m), 2)
                record(rate, (f"ours, {args.workers} threads", "tiled", method),
                       gigabytes / seconds)

    print(f"\n{'GB/s of input':44s} {'store':7s}" + "".join(f"{m:>12s}" for m in METHODS))
    for what in dict.fromkeys((w, s) for w, s, _ in rate):
        cells = "".join(f"{rate.get((*what, m), float('nan')):12.3f}" for m in METHODS)
        print(f"{what[0]:44s} {what[1]:7s}{cells}")

    headline = f"ours, {args.workers} worker(s)"
    print("\nratios (same run)")
    for store in ("tiled", "frames"):
        for reference in ("ccdproc.combine", "ccdproc.Combiner", "numpy ceiling",
                          "numpy nan-aware / astropy"):
            cells = "".join(f"{ratio(rate, (headline, store, m), (reference, '-', m)):12.2f}"
                            for m in METHODS)
            print(f"ours ({store}) / {reference:28s}{cells}")
    one, many = "ours, 1 worker(s)", headline
    cells = "".join(f"{rate[many, 'tiled', m] / rate[one, 'tiled', m]:12.2f}" for m in METHODS)
    print(f"scaling {args.workers} workers / 1 worker (tiled)     {cells}")


if __name__ == "__main__":
    main()
