"""The compute service's core: make, scale and remove clusters within limits, and keep
every cluster's lifecycle (owner's server, lifetime, idle timeout, crashed processes).

Limits are checked and the new cluster reserved under one lock, so concurrent requests can
never together pass a limit; the slow part (starting the cluster) happens outside it. The
clusters themselves are a backend's (:mod:`wisehub.compute.backend`): local processes, or
the dask-kubernetes operator's resources.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from pathlib import Path

from tornado.httpclient import HTTPClientError

from wisehub.compute.backend import Backend
from wisehub.compute.hubapi import HubAPI, HubUser
from wisehub.compute.limits import Demand, check
from wisehub.compute.records import ClusterRecord, RecordStore
from wisehub.compute.schema import ClusterRequest, ScaleRequest
from wisehub.compute.security import ClusterCredentials
from wisehub.compute.settings import ComputeSettings

log = logging.getLogger("wisehub.compute")


class NotFound(LookupError):
    """No such cluster (or not one the caller may see)."""


class Refused(ValueError):
    """A request this hub does not grant (not a limit: e.g. an image it does not offer)."""


def make_backend(settings: ComputeSettings, state_dir: Path, store: RecordStore,
                 environment: dict[str, str] | None = None) -> Backend:
    """The backend ``settings.backend`` names (Kubernetes: the service pod's own account)."""
    if settings.backend == "kubernetes":
        from wisehub.compute.kubebackend import KubeBackend
        from wisehub.compute.kubernetes import KubeAPI

        kube = settings.kubernetes
        api = KubeAPI.in_cluster(kube.api_url, kube.service_account_dir, kube.namespace)
        return KubeBackend(api, kube, environment)
    from wisehub.compute.localbackend import LocalBackend

    return LocalBackend(settings.runtime_dir or state_dir / "clusters", store, environment,
                        run_as_owner=settings.run_as_owner)


class ClusterManager:
    """Every cluster of the service, with state under ``state_dir``, on ``backend`` (default:
    the one the settings name)."""

    def __init__(self, settings: ComputeSettings, state_dir: Path, hub: HubAPI,
                 prefix: str = "/services/compute/",
                 environment: dict[str, str] | None = None,
                 backend: Backend | None = None) -> None:
        self.settings = settings
        self.hub = hub
        self.prefix = prefix
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        state_dir.chmod(0o700)
        self.store = RecordStore(state_dir / "records")
        self.backend = backend or make_backend(settings, state_dir, self.store, environment)
        self.records: dict[str, ClusterRecord] = {}
        self._owner_started: dict[str, str | None] = {}
        self._lock = asyncio.Lock()
        # Starting a scheduler costs seconds of CPU; many at once only make each one late.
        self._starting = asyncio.Semaphore(max(2, os.cpu_count() or 2))

    # -- queries ---------------------------------------------------------------------------
    async def visible(self, user: HubUser) -> list[ClusterRecord]:
        """The clusters ``user`` may see (their own, or all for an admin) that still run:
        one that ended since the last check (a batch job ended it, idle timeout, crash) is
        removed first, not listed as running."""
        mine = [r for r in self.records.values() if user.admin or r.owner == user.name]
        gone = await self._remove_ended(mine)
        return [r for r in mine if r.id not in gone]

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
    def _image(self, request: ClusterRequest) -> str | None:
        """The caller's image for the workers, if this hub offers it (Kubernetes only)."""
        kube = self.settings.kubernetes
        if self.settings.backend != "kubernetes" or request.image is None:
            return None
        if request.image not in (kube.image, *kube.images):
            raise Refused(f"image {request.image!r} is not one this hub offers for workers")
        return request.image

    async def create(self, user: HubUser, request: ClusterRequest, job: str | None = None
                     ) -> ClusterRecord:
        """Reserve within ``user``'s limits, then start the cluster on the backend. A batch
        ``job``'s cluster outlives its owner's server (the job ends it)."""
        limits = self.settings.limits_for(user.groups)
        record = ClusterRecord(
            id=f"c-{secrets.token_hex(6)}", owner=user.name, job=job,
            workers=request.workers if request.workers is not None else 1,
            adaptive=request.adaptive.model_dump() if request.adaptive else None,
            worker_cores=request.worker_cores or min(1, limits.worker_cores),
            worker_memory=request.worker_memory or min(2**30, limits.worker_memory),
            lifetime=limits.lifetime,
            idle_timeout=min(request.idle_timeout or limits.idle_timeout, limits.idle_timeout),
            image=self._image(request),
            owner_pod=request.owner_pod.model_dump() if request.owner_pod else None)
        if record.adaptive:
            record.workers = record.adaptive["minimum"]
        # A cluster that ended since the last check no longer counts against the limits.
        await self._remove_ended([r for r in self.records.values() if r.owner == user.name])
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
                await self.backend.start(record, credentials, self.dashboard_prefix(record))
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
                record.workers = min(max(len(record.worker_processes),
                                         record.adaptive["minimum"]),
                                     record.adaptive["maximum"])
            else:
                record.adaptive = None
                record.workers = request.maximum
            self.store.save(record)
        await self.backend.scale(record)

    async def remove(self, record: ClusterRecord, reason: str) -> None:
        """Stop a cluster and forget it."""
        log.info("removing cluster %s of %s: %s", record.id, record.owner, reason)
        self.records.pop(record.id, None)
        await self.backend.stop(record)
        self.store.remove(record.id)

    async def _remove_ended(self, records: list[ClusterRecord]) -> set[str]:
        """Remove those running ``records`` whose cluster has ended; their ids."""
        ended = await self.backend.ended([r for r in records if r.status == "running"])
        for record in records:
            if record.id in ended:
                await self.remove(record, "it ended (job finished, idle timeout or crash)")
        return ended

    def _held(self, owner: str, leave_out: str | None = None) -> list[Demand]:
        return [r.demand for r in self.records.values()
                if r.owner == owner and r.id != leave_out]

    # -- lifecycle -------------------------------------------------------------------------
    async def rediscover(self) -> None:
        """Adopt the clusters of a previous run that still run; remove the rest."""
        live, dead = await self.backend.rediscover(self.store)
        for record in live:
            self.records[record.id] = record
            log.info("rediscovered cluster %s of %s", record.id, record.owner)
        for record in dead:
            await self.remove(record, "found dead or half-made after a restart")

    async def check_once(self) -> None:
        """One round: remove clusters whose owner's server stopped, past their lifetime, or
        that ended (idle timeout, crash); let the backend look after the rest."""
        now = time.time()
        await self._remove_ended(list(self.records.values()))
        running = [r for r in self.records.values() if r.status == "running"]
        servers = await self._running_servers() if running else None
        for record in running:
            reason = None
            if now > record.created + record.lifetime:
                reason = "its lifetime is over"
            elif not record.job and await self._owner_server_gone(record.owner, servers):
                reason = "its owner's server stopped"
            if reason:
                await self.remove(record, reason)
            else:
                await self.backend.supervise(record)

    async def _running_servers(self) -> dict[str, str | None] | None:
        """Who has a server running, in one hub call (None if the hub does not answer)."""
        try:
            return await self.hub.running_servers()
        except (OSError, HTTPClientError) as err:
            log.warning("cannot list servers on the hub: %s", err)
            return None

    async def _server_started(self, user: HubUser) -> str | None:
        """When ``user``'s server started, asked afresh (a cached answer may predate a
        restart, and the new cluster would then look orphaned at once)."""
        try:
            found = await self.hub.user(user.name, fresh=True)
        except (OSError, HTTPClientError):
            return user.server_started
        return found.server_started if found else None

    async def _owner_server_gone(self, owner: str,
                                 servers: dict[str, str | None] | None) -> bool:
        """Whether the server the owner had when the cluster was made is gone. ``servers``
        (from one listing) answers for owners with a server; the rest are asked one by one
        (clusters made without a server are kept, unless their owner was deleted)."""
        if servers is None:
            # A hub that is down or restarting says nothing about the server: keep clusters.
            return False
        known = self._owner_started.get(owner)
        if owner in servers:
            now = servers[owner]
        elif known is not None:
            now = None
        else:
            try:
                user = await self.hub.user(owner)
            except (OSError, HTTPClientError) as err:
                log.warning("cannot ask the hub about %s: %s", owner, err)
                return False
            if user is None:
                return True
            now = user.server_started
        if known is None:
            self._owner_started[owner] = now
            return False
        return now != known

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
