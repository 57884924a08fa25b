"""The compute service's core: make, scale and remove clusters within limits, and keep
every cluster's lifecycle (owner's server, lifetime, idle timeout, crashed processes).

Limits are checked and the new cluster reserved under one lock, so concurrent requests can
never together pass a limit; the slow part (starting processes) happens outside it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from pathlib import Path

from distributed.core import rpc
from tornado.httpclient import HTTPClientError

from wisehub.compute.hubapi import HubAPI, HubUser
from wisehub.compute.limits import Demand, check
from wisehub.compute.localbackend import LocalBackend, alive
from wisehub.compute.records import ClusterRecord, RecordStore
from wisehub.compute.schema import ClusterRequest, ScaleRequest
from wisehub.compute.security import ClusterCredentials
from wisehub.compute.settings import ComputeSettings

log = logging.getLogger("wisehub.compute")


class NotFound(LookupError):
    """No such cluster (or not one the caller may see)."""


class ClusterManager:
    """Every cluster of the service, on the local backend, with state under ``state_dir``."""

    def __init__(self, settings: ComputeSettings, state_dir: Path, hub: HubAPI,
                 prefix: str = "/services/compute/",
                 environment: dict[str, str] | None = None) -> None:
        if settings.backend != "local":
            raise ValueError("compute.backend 'kubernetes': the builders and client exist "
                             "(wisehub.compute.kubernetes), but the service drives only the "
                             "local backend so far")
        self.settings = settings
        self.hub = hub
        self.prefix = prefix
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state_dir.chmod(0o700)
        self.store = RecordStore(state_dir / "records")
        self.backend = LocalBackend(settings.runtime_dir or state_dir / "clusters", environment,
                                    run_as_owner=settings.run_as_owner)
        self.records: dict[str, ClusterRecord] = {}
        self._owner_started: dict[str, str | None] = {}
        self._lock = asyncio.Lock()
        # Starting a scheduler costs seconds of CPU; many at once only make each one late.
        self._starting = asyncio.Semaphore(max(2, os.cpu_count() or 2))

    # -- queries ---------------------------------------------------------------------------
    def visible(self, user: HubUser) -> list[ClusterRecord]:
        """The clusters ``user`` may see: their own, or all for an admin."""
        return [r for r in self.records.values() if user.admin or r.owner == user.name]

    def get(self, user: HubUser, cluster_id: str, own: bool = False) -> ClusterRecord:
        """One cluster ``user`` may see (``own``: only if they own it), else NotFound."""
        record = self.records.get(cluster_id)
        if record is None or (record.owner != user.name and (own or not user.admin)):
            raise NotFound(f"no cluster {cluster_id!r}")
        return record

    def credentials(self, record: ClusterRecord) -> ClusterCredentials:
        """The cluster's TLS credentials (hand them to its owner only)."""
        return self.store.credentials(record.id)

    def dashboard_prefix(self, record: ClusterRecord) -> str:
        """The path the dashboard is served (and proxied) under."""
        return f"{self.prefix}clusters/{record.id}"

    # -- changes ---------------------------------------------------------------------------
    async def create(self, user: HubUser, request: ClusterRequest, job: str | None = None
                     ) -> ClusterRecord:
        """Reserve within ``user``'s limits, then start scheduler and workers. A batch
        ``job``'s cluster outlives its owner's server (the job ends it)."""
        limits = self.settings.limits_for(user.groups)
        record = ClusterRecord(
            id=f"c-{secrets.token_hex(6)}", owner=user.name, job=job,
            workers=request.workers if request.workers is not None else 1,
            adaptive=request.adaptive.model_dump() if request.adaptive else None,
            worker_cores=request.worker_cores or min(1, limits.worker_cores),
            worker_memory=request.worker_memory or min(2**30, limits.worker_memory),
            lifetime=limits.lifetime,
            idle_timeout=min(request.idle_timeout or limits.idle_timeout, limits.idle_timeout))
        if record.adaptive:
            record.workers = record.adaptive["minimum"]
        async with self._lock:
            check(limits, self._held(user.name), record.demand)
            self.records[record.id] = record
            self.store.save(record)
        self._owner_started[user.name] = await self._server_started(user)
        try:
            # Making an RSA key takes tens of ms of CPU: not on the event loop.
            credentials = await asyncio.to_thread(ClusterCredentials.new)
            self.store.save_credentials(record.id, credentials)
            async with self._starting:
                await self.backend.start_scheduler(
                    record, credentials, self.dashboard_prefix(record),
                    workers=[f"{record.id}-w{i}" for i in range(record.workers)])
        except BaseException:
            await self.remove(record, "failed to start")
            raise
        record.status = "running"
        self.store.save(record)
        return record

    async def scale(self, user: HubUser, record: ClusterRecord, request: ScaleRequest) -> None:
        """Resize a cluster (fixed or adaptive), within ``user``'s limits."""
        limits = self.settings.limits_for(user.groups)
        async with self._lock:
            held = self._held(record.owner, leave_out=record.id)
            new = Demand(workers=request.maximum, worker_cores=record.worker_cores,
                         worker_memory=record.worker_memory)
            check(limits, held, new)
            if request.adaptive is not None:
                record.adaptive = request.adaptive.model_dump()
                target = min(max(len(record.worker_processes), record.adaptive["minimum"]),
                             record.adaptive["maximum"])
            else:
                record.adaptive = None
                target = request.maximum
            record.workers = target
            self.store.save(record)
        await self._resize(record, target)

    async def remove(self, record: ClusterRecord, reason: str) -> None:
        """Stop a cluster's processes and forget it."""
        log.info("removing cluster %s of %s: %s", record.id, record.owner, reason)
        self.records.pop(record.id, None)
        await asyncio.to_thread(self.backend.stop, record)
        self.store.remove(record.id)

    def _held(self, owner: str, leave_out: str | None = None) -> list[Demand]:
        return [r.demand for r in self.records.values()
                if r.owner == owner and r.id != leave_out]

    @staticmethod
    def _next_name(record: ClusterRecord) -> str:
        numbers = [int(n.rsplit("-w", 1)[1]) for n in record.worker_processes]
        return f"{record.id}-w{max(numbers, default=-1) + 1}"

    async def _resize(self, record: ClusterRecord, target: int) -> None:
        running = sorted(record.worker_processes, key=lambda n: int(n.rsplit("-w", 1)[1]))
        if target > len(running):
            for _ in range(target - len(running)):
                self.backend.start_worker(record, self._next_name(record))
        elif target < len(running):
            names = await self._scheduler_call(record, "workers_to_close",
                                               n=len(running) - target, attribute="name")
            names = [n for n in (names or []) if n in record.worker_processes]
            names += [n for n in reversed(running) if n not in names][
                :len(running) - target - len(names)]
            await self._scheduler_call(record, "retire_workers", names=names,
                                       close_workers=True)
            await asyncio.to_thread(self.backend.stop_workers, record, names)
        self.store.save(record)

    async def _scheduler_call(self, record: ClusterRecord, method: str, **kwargs: object
                              ) -> object:
        assert record.address is not None
        args = self.credentials(record).security().get_connection_args("client")
        try:
            async with rpc(record.address, connection_args=args, timeout=10
                           ) as scheduler:
                return await asyncio.wait_for(getattr(scheduler, method)(**kwargs), 30)
        except (OSError, TimeoutError) as err:
            log.warning("scheduler of %s: %s failed: %s", record.id, method, err)
            return None

    # -- lifecycle -------------------------------------------------------------------------
    async def rediscover(self) -> None:
        """Adopt the clusters of a previous run whose scheduler still runs; remove the rest."""
        for record in self.store.load():
            if record.status == "running" and alive(record.scheduler):
                self.records[record.id] = record
                log.info("rediscovered cluster %s of %s", record.id, record.owner)
            else:
                await self.remove(record, "found dead or half-made after a restart")

    async def check_once(self) -> None:
        """One round: remove clusters whose owner's server stopped, past their lifetime, or
        whose scheduler ended (idle timeout, crash); restart dead workers; adapt."""
        now = time.time()
        for record in [r for r in self.records.values() if r.status == "running"]:
            reason = None
            if not alive(record.scheduler):
                reason = "its scheduler ended (idle timeout or crash)"
            elif now > record.created + record.lifetime:
                reason = "its lifetime is over"
            elif not record.job and await self._owner_server_gone(record.owner):
                reason = "its owner's server stopped"
            if reason:
                await self.remove(record, reason)
                continue
            for name, process in list(record.worker_processes.items()):
                if not alive(process):
                    log.info("restarting worker %s", name)
                    del record.worker_processes[name]
                    self.backend.start_worker(record, name)
                    self.store.save(record)
            if record.adaptive:
                await self._adapt(record)

    async def _server_started(self, user: HubUser) -> str | None:
        """When ``user``'s server started, asked afresh (a cached answer may predate a
        restart, and the new cluster would then look orphaned at once)."""
        try:
            found = await self.hub.user(user.name, fresh=True)
        except (OSError, HTTPClientError):
            return user.server_started
        return found.server_started if found else None

    async def _owner_server_gone(self, owner: str) -> bool:
        known = self._owner_started.get(owner)
        try:
            user = await self.hub.user(owner, fresh=True)
        except (OSError, HTTPClientError) as err:
            # A hub that is down or restarting says nothing about the server: keep clusters.
            log.warning("cannot ask the hub about %s: %s", owner, err)
            return False
        now = user.server_started if user else None
        if known is None:
            self._owner_started[owner] = now
            return user is None
        return now != known

    async def _adapt(self, record: ClusterRecord) -> None:
        wanted = await self._scheduler_call(record, "adaptive_target")
        if not isinstance(wanted, int):
            return
        assert record.adaptive is not None
        target = min(max(wanted, record.adaptive["minimum"]), record.adaptive["maximum"])
        if target != len(record.worker_processes):
            record.workers = target
            await self._resize(record, target)

    async def run(self) -> None:
        """Check every ``poll_interval`` seconds, for ever."""
        while True:
            try:
                await self.check_once()
            except Exception:  # one bad round must not end the lifecycle checks
                log.exception("lifecycle check failed")
            await asyncio.sleep(self.settings.poll_interval)

    async def shutdown(self) -> None:
        """Stop every cluster (used when the service is told to end its clusters)."""
        for record in list(self.records.values()):
            await self.remove(record, "the service shut down")
