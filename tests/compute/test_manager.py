"""The service's cluster manager without a hub: restart rediscovery, supervision, adaptivity.

Starts: real TLS Dask schedulers and workers on 127.0.0.1 under a temporary state directory.
No hub runs here; the callers are given directly (the hub side is tested in test_service.py).
"""

from __future__ import annotations

import asyncio
import stat

import pytest
from distributed import Client
from wisehub.compute.hubapi import HubAPI, HubUser
from wisehub.compute.localbackend import alive
from wisehub.compute.manager import ClusterManager
from wisehub.compute.schema import ClusterRequest, ScaleRequest
from wisehub.compute.settings import ComputeSettings

ADA = HubUser("ada", admin=False, groups=frozenset(), server_started=None)
UNUSED_HUB = HubAPI("http://127.0.0.1:9/hub/api", "no-hub-in-these-tests")


def manager(state) -> ClusterManager:
    return ClusterManager(ComputeSettings(poll_interval=1), state, UNUSED_HUB)


def test_restart_rediscovers_live_clusters_and_leaks_nothing(tmp_path):
    async def scenario() -> None:
        first = manager(tmp_path)
        live = await first.create(ADA, ClusterRequest(workers=1, worker_memory=300 * 2**20))
        broken = await first.create(ADA, ClusterRequest(workers=1, worker_memory=300 * 2**20))
        # The service dies; so does one cluster's scheduler, leaving its worker behind.
        orphan = next(iter(broken.worker_processes.values()))
        first.backend.stop_workers(broken, [])
        from wisehub.compute.localbackend import end
        end([broken.scheduler])
        second = manager(tmp_path)
        await second.rediscover()
        assert list(second.records) == [live.id]
        assert not alive(orphan) and not second.backend.directory(broken).exists()
        adopted = second.records[live.id]
        credentials = second.credentials(adopted).security()
        async with Client(adopted.address, security=credentials, asynchronous=True) as client:
            assert await client.submit(sum, [4, 5]) == 9
        await second.remove(adopted, "test over")
        assert not alive(adopted.scheduler)
        assert list(tmp_path.joinpath("records").iterdir()) == []

    asyncio.run(scenario())
    assert stat.S_IMODE(tmp_path.joinpath("records").stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.joinpath("clusters").stat().st_mode) == 0o700


def test_a_killed_worker_is_restarted_and_the_result_is_right(tmp_path):
    async def scenario() -> None:
        service = manager(tmp_path)
        record = await service.create(ADA, ClusterRequest(workers=2,
                                                          worker_memory=300 * 2**20))
        security = service.credentials(record).security()
        try:
            async with Client(record.address, security=security, asynchronous=True) as client:
                await client.wait_for_workers(2)
                import time

                futures = client.map(lambda x: (time.sleep(0.3), x * x)[1], range(20))
                victim = next(iter(record.worker_processes.values()))
                import os
                import signal

                await asyncio.sleep(0.5)
                os.kill(victim.pid, signal.SIGKILL)
                assert sum(await client.gather(futures)) == sum(x * x for x in range(20))
                await service.check_once()
                assert len(record.worker_processes) == 2
                assert victim not in record.worker_processes.values()
                await client.wait_for_workers(2)
        finally:
            await service.remove(record, "test over")

    asyncio.run(scenario())


def test_adaptive_stays_within_its_bounds(tmp_path):
    async def scenario() -> None:
        service = manager(tmp_path)
        record = await service.create(ADA, ClusterRequest.model_validate(
            {"adaptive": {"minimum": 0, "maximum": 2}, "worker_memory": 300 * 2**20}))
        try:
            assert record.workers == 0 and record.demand.workers == 2
            security = service.credentials(record).security()
            async with Client(record.address, security=security, asynchronous=True) as client:
                futures = client.map(lambda x: __import__("time").sleep(1) or x, range(40))
                seen = set()
                for _ in range(20):
                    await service.check_once()
                    seen.add(len(record.worker_processes))
                    if len(record.worker_processes) == 2:
                        break
                    await asyncio.sleep(0.5)
                assert max(seen) == 2
                assert await client.gather(futures) == list(range(40))
            await service.scale(ADA, record, ScaleRequest(workers=1))
            assert len(record.worker_processes) == 1 and record.adaptive is None
        finally:
            await service.remove(record, "test over")

    asyncio.run(scenario())


def test_scale_beyond_the_limit_is_refused_and_changes_nothing(tmp_path):
    from wisehub.compute.limits import LimitExceeded

    async def scenario() -> None:
        service = manager(tmp_path)
        record = await service.create(ADA, ClusterRequest(workers=0))
        try:
            with pytest.raises(LimitExceeded, match="'workers' is 4 per user"):
                await service.scale(ADA, record, ScaleRequest.model_validate(
                    {"adaptive": {"maximum": 5}}))
            assert record.adaptive is None and record.workers == 0
        finally:
            await service.remove(record, "test over")

    asyncio.run(scenario())


def test_a_cluster_its_job_ended_is_neither_listed_nor_counted(tmp_path):
    """A batch job ends its cluster by telling the scheduler to terminate, between two of
    the service's lifecycle checks: at once it is no longer listed, nor counted against a
    limit of one cluster (no check_once runs here; the poll interval is an hour)."""
    from wisehub.batch.cluster import release_cluster
    from wisehub.batch.connection import write_connection
    from wisehub.compute.limits import LimitExceeded
    from wisehub.compute.settings import Limits

    async def scenario() -> None:
        settings = ComputeSettings(poll_interval=3600, limits=Limits(clusters=1))
        service = ClusterManager(settings, tmp_path / "state", UNUSED_HUB)
        job = await service.create(ADA, ClusterRequest(workers=0), job="a-job")
        with pytest.raises(LimitExceeded, match="'clusters' is 1 per user"):
            await service.create(ADA, ClusterRequest(workers=0))
        job_dir = tmp_path / "job"
        job_dir.mkdir()
        write_connection(job_dir, job.id, job.address, service.credentials(job))
        assert await asyncio.to_thread(release_cluster, job_dir)
        for _ in range(100):  # the scheduler's process exits just after it closes
            if not alive(job.scheduler):
                break
            await asyncio.sleep(0.05)
        assert await service.visible(ADA) == []
        after = await service.create(ADA, ClusterRequest(workers=0))
        try:
            assert [r.id for r in await service.visible(ADA)] == [after.id]
        finally:
            await service.remove(after, "test over")

    asyncio.run(scenario())


def test_system_users_mode_runs_the_cluster_as_its_owner(other_account):
    """As root with run_as_owner: processes, directory and TLS files are the owner's, and a
    log replaced by a symlink is refused rather than written through (root must not follow
    what the owner plants in their cluster's directory)."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    import psutil

    open_root = Path(tempfile.mkdtemp(prefix="whc-runas-", dir="/tmp"))
    open_root.chmod(0o711)
    owner = HubUser(other_account.name, admin=False, groups=frozenset(), server_started=None)
    settings = ComputeSettings(run_as_owner=True, runtime_dir=open_root / "clusters")

    async def scenario() -> None:
        service = ClusterManager(settings, open_root / "state", UNUSED_HUB)
        record = await service.create(owner, ClusterRequest(workers=1,
                                                            worker_memory=300 * 2**20))
        try:
            directory = service.backend.directory(record)
            processes = [record.scheduler, *record.worker_processes.values()]
            assert {psutil.Process(p.pid).uids().real for p in processes} == \
                {other_account.uid}
            assert directory.stat().st_uid == other_account.uid
            key = directory / "tls" / "key.pem"
            assert key.stat().st_uid == other_account.uid
            assert key.stat().st_mode & 0o777 == 0o600
            security = service.credentials(record).security()
            async with Client(record.address, security=security, asynchronous=True) as client:
                await client.wait_for_workers(1)
                assert await client.run(os.getuid) == {
                    w: other_account.uid for w in client.scheduler_info()["workers"]}
            # The owner plants a symlink where the service would write a worker's log.
            [name] = record.worker_processes
            victim = open_root / "victim.txt"
            victim.write_text("untouched")
            (directory / f"{name}.log").unlink()
            (directory / f"{name}.log").symlink_to(victim)
            service.backend.stop_workers(record, [name])
            from wisehub.compute.localbackend import BackendError
            with pytest.raises(BackendError, match="not a plain file"):
                service.backend.start_worker(record, name)
            assert victim.read_text() == "untouched" and victim.stat().st_uid == os.getuid()
        finally:
            await service.remove(record, "test over")

    try:
        asyncio.run(scenario())
    finally:
        shutil.rmtree(open_root, ignore_errors=True)


def test_a_step_of_the_wall_clock_ends_no_cluster_and_restarts_no_worker(tmp_path, clock_step):
    """Before stamps counted from boot, a clock step of a second or more made the scheduler
    look dead (the cluster was removed) and each worker too (a second one was started)."""
    async def scenario() -> None:
        service = ClusterManager(ComputeSettings(poll_interval=3600), tmp_path, UNUSED_HUB)
        record = await service.create(ADA, ClusterRequest(workers=1,
                                                          worker_memory=300 * 2**20), job="j")
        try:
            workers = dict(record.worker_processes)
            clock_step(2.0)
            await service.check_once()
            assert list(service.records) == [record.id]
            assert record.worker_processes == workers
        finally:
            await service.remove(record, "test over")
        assert not alive(record.scheduler)

    asyncio.run(scenario())
