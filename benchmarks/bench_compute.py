"""Compute-service benchmark, everything measured in the same run on this machine.

1. cluster-ready latency: ``wh.cluster``-style create through the service until 2 workers are
   connected, against a direct TLS ``LocalCluster`` of the same size (median of repeats; goal
   ratio ≤ 1.2);
2. N users (default 50) each creating a cluster (no workers) at once, then listing at once:
   p50/p95 of create and list (goal: list p95 < 1 s);
3. the service's RSS with N users' clusters registered, against its RSS with none (the
   schedulers are separate processes and not counted).

    python benchmarks/bench_compute.py [--users 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil
from distributed import Client, LocalCluster
from wisehub.compute.api_client import ComputeAPI
from wisehub.compute.security import ClusterCredentials
from wisehub.config import load_settings
from wisehub.hub.client import HubClient
from wisehub.hub.launcher import RunningHub, start, stop


def service_process(hub: RunningHub) -> psutil.Process:
    """The compute service the hub runs."""
    for child in psutil.Process(hub.process.pid).children(recursive=True):
        if "wisehub.compute.service" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("the compute service is not running")


def ready_through_service(api: ComputeAPI) -> float:
    began = time.perf_counter()
    made = api.create(2, cores=1, memory="400MiB")
    with api.connect(made["id"]) as client:
        client.wait_for_workers(2, timeout=300)
        elapsed = time.perf_counter() - began
    api.delete(made["id"])
    return elapsed


def ready_direct() -> float:
    began = time.perf_counter()
    security = ClusterCredentials.new().security()
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="400MiB",
                      protocol="tls://", host="127.0.0.1", security=security,
                      dashboard_address="127.0.0.1:0") as cluster, \
            Client(cluster, security=security) as client:
        client.wait_for_workers(2, timeout=300)
        return time.perf_counter() - began


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def many_users(hub: RunningHub, users: int) -> tuple[list[float], list[float], list]:
    async with HubClient(hub.url, hub.token) as admin:
        names = [f"bench{i}" for i in range(users)]
        tokens = []
        for name in names:
            await admin.create_user(name)
            tokens.append(await admin.token_for(name))
    url = f"{hub.url}services/compute/clusters"

    async def timed(session: aiohttp.ClientSession, method: str, token: str, body=None):
        began = time.perf_counter()
        async with session.request(method, url, json=body,
                                   headers={"Authorization": f"token {token}"}) as reply:
            data = await reply.json()
            assert reply.status in (200, 201), data
        return time.perf_counter() - began, data, token

    timeout = aiohttp.ClientTimeout(total=1200)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        created = await asyncio.gather(*(timed(session, "POST", t, {"workers": 0})
                                         for t in tokens))
        listed = await asyncio.gather(*(timed(session, "GET", t) for t in tokens))
    made = [(data["id"], token) for _, data, token in created]
    return [c[0] for c in created], [x[0] for x in listed], made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compute-") as tmp:
        settings = load_settings(data_dir=Path(tmp), hub={
            "demo_password": "bench-password", "notebooks": []})
        hub = start(settings, timeout=300)
        try:
            api_admin_token = asyncio.run(_token(hub, "benchready"))
            api = ComputeAPI(f"{hub.url}services/compute/", api_admin_token, timeout=600)
            ready_direct()  # warm the imports and caches once, for both
            service_times = [ready_through_service(api) for _ in range(args.repeats)]
            direct_times = [ready_direct() for _ in range(args.repeats)]
            service, direct = statistics.median(service_times), statistics.median(direct_times)
            print(f"cluster ready (2 workers): service {service:.2f} s, direct LocalCluster "
                  f"{direct:.2f} s, ratio {service / direct:.2f} (goal ≤ 1.2)")
            proc = service_process(hub)
            idle_rss = proc.memory_info().rss
            creates, lists, made = asyncio.run(many_users(hub, args.users))
            busy_rss = proc.memory_info().rss
            print(f"{args.users} users at once: create p50 {p(creates, 50):.2f} s, p95 "
                  f"{p(creates, 95):.2f} s; list p50 {p(lists, 50):.3f} s, p95 "
                  f"{p(lists, 95):.3f} s (goal < 1 s)")
            print(f"service RSS: {busy_rss / 2**20:.0f} MiB with {args.users} clusters, "
                  f"{idle_rss / 2**20:.0f} MiB with none, ratio {busy_rss / idle_rss:.2f}")
            for cluster_id, token in made:
                ComputeAPI(api.url, token).delete(cluster_id)
        finally:
            stop(hub)


async def _token(hub: RunningHub, name: str) -> str:
    async with HubClient(hub.url, hub.token) as admin:
        await admin.create_user(name)
        return await admin.token_for(name)


if __name__ == "__main__":
    main()
