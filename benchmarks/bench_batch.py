"""Batch benchmark: what running a function as a batch job costs, measured in the same run.

1. submit-to-running latency: ``submit()`` returns, then until the job's state says
   ``running`` (its detached supervisor has started the runner); median of repeats.
   Goal: under 3 s.
2. overhead: the same Dask work (tasks that sleep, so the shared machine's load matters
   little) as a batch job, from ``submit()`` to ``succeeded`` (process start-up, its own TLS
   cluster, result and lineage registration included), against running it directly on an
   equal TLS ``LocalCluster`` (same options, cluster start-up included). Goal: ≤ 1.1× for a
   60 s job.

    python benchmarks/bench_batch.py [--seconds 60] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster
from distributed.security import Security
from wisehub.batch import BatchSettings, LocalBackend, submit
from wisehub.batch.cluster import cluster_options
from wisehub.config import load_settings

WORKERS = 2
TASKS_PER_SECOND_OF_WORK = 4  # each task sleeps 1/4 s per worker-slot


def sleepy_work(seconds: float, workers: int) -> float:
    """About ``seconds`` of wall time on the current cluster: many short sleeping tasks."""
    from distributed import get_client

    client = get_client()
    slots = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()) or workers
    count = int(seconds * TASKS_PER_SECOND_OF_WORK * slots)
    return sum(client.gather(client.map(_nap, [1 / TASKS_PER_SECOND_OF_WORK] * count,
                                        pure=False)))


def _nap(duration: float) -> float:
    time.sleep(duration)
    return duration


def direct(seconds: float) -> float:
    """The reference: the work on an equal secured LocalCluster started here."""
    start = time.perf_counter()
    security = Security.temporary()
    with LocalCluster(security=security, **cluster_options(WORKERS, False)) as cluster, \
            Client(cluster, security=security):
        sleepy_work(seconds, WORKERS)
    return time.perf_counter() - start


def as_batch_job(backend: LocalBackend, seconds: float) -> float:
    start = time.perf_counter()
    job = submit(sleepy_work, seconds, WORKERS, workers=WORKERS, backend=backend)
    status = job.wait(seconds * 10 + 300, poll=0.05)
    if status != "succeeded":
        raise RuntimeError(f"benchmark job {job.id} {status}: {job.record().message}")
    return time.perf_counter() - start


def latency(backend: LocalBackend) -> float:
    job = submit("time:sleep", 0.5, backend=backend)
    start = time.perf_counter()
    while job.status() == "queued":
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    job.wait(300)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a 10 s job, one repeat")
    args = parser.parse_args()
    seconds, repeats = (10.0, 1) if args.quick else (args.seconds, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        backend = LocalBackend(load_settings(data_dir=Path(tmp) / "data"),
                               BatchSettings(limits={"concurrent_jobs": 2}))
        submit_latency = statistics.median(latency(backend) for _ in range(max(3, repeats)))
        batch_times, direct_times = [], []
        for _ in range(repeats):  # interleaved, so load changes hit both alike
            direct_times.append(direct(seconds))
            batch_times.append(as_batch_job(backend, seconds))
    batch, reference = statistics.median(batch_times), statistics.median(direct_times)
    print(f"submit-to-running latency: {submit_latency:.2f} s (goal < 3 s)")
    print(f"{seconds:g} s of Dask work on {WORKERS} workers: batch job {batch:.1f} s, "
          f"direct LocalCluster {reference:.1f} s, ratio {batch / reference:.2f} (goal ≤ 1.1)")
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
