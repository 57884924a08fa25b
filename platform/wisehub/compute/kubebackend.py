"""The Kubernetes backend: each cluster is a ``DaskCluster`` (and, when adaptive, a
``DaskAutoscaler``) for the dask-kubernetes operator, with its TLS credentials in a Secret.

The service sends only these three kinds of object, through :class:`KubeAPI`, so its role
needs rights on ``daskclusters``, ``daskautoscalers`` and ``secrets`` alone. The operator
makes the pods, replaces failed workers, adapts, and ends a cluster at its idle timeout;
Kubernetes removes a cluster whose owner's server pod is gone (its ownerReference). The
service's own record of a cluster rides on the ``DaskCluster`` as an annotation, so a restarted
service finds every cluster again from the API alone.

>>> backend = KubeBackend(KubeAPI("https://kubernetes.default.svc", "wisehub"),
...                       KubernetesSettings(image="wisehub/singleuser:1"))
>>> backend.dashboard_url(ClusterRecord(id="c-1", owner="ada"))
'http://c-1-scheduler.wisehub.svc:8787'
>>> backend.spec(ClusterRecord(id="c-1", owner="ada")).image
'wisehub/singleuser:1'
"""

from __future__ import annotations

import base64
import json
import logging

import aiohttp

from wisehub.compute.backend import BackendError
from wisehub.compute.kubernetes import (
    DASHBOARD_PORT,
    OWNER_ANNOTATION,
    RECORD_ANNOTATION,
    SCHEDULER_PORT,
    ClusterSpec,
    KubeAPI,
    KubeError,
    autoscaler_manifest,
    cluster_manifest,
    tls_secret_manifest,
)
from wisehub.compute.records import ClusterRecord, RecordStore
from wisehub.compute.security import FILES, ClusterCredentials
from wisehub.compute.settings import KubernetesSettings

log = logging.getLogger("wisehub.compute")

DESCRIBED = ("owner", "workers", "adaptive", "worker_cores", "worker_memory", "lifetime",
             "idle_timeout", "created", "image", "owner_pod")
"""The record fields kept on the DaskCluster (everything but addresses and credentials)."""


def _described(record: ClusterRecord) -> str:
    return json.dumps({k: getattr(record, k) for k in DESCRIBED})


def _credentials(secret: dict) -> ClusterCredentials:
    data = secret.get("data") or {}
    return ClusterCredentials(**{field: base64.b64decode(data[name]).decode()
                                 for field, name in FILES.items()})


class KubeBackend:
    """Clusters as operator resources in ``api``'s namespace."""

    def __init__(self, api: KubeAPI, settings: KubernetesSettings,
                 environment: dict[str, str] | None = None) -> None:
        self.api = api
        self.settings = settings
        self.environment = tuple(sorted((environment or {}).items()))

    def spec(self, record: ClusterRecord, dashboard_prefix: str = "") -> ClusterSpec:
        """The builders' view of ``record``."""
        from kubespawner.slugs import safe_slug

        template = self.settings.credentials_secret_template
        return ClusterSpec(
            record.id, record.owner, record.image or self.settings.image,
            workers=record.workers, worker_cores=record.worker_cores,
            worker_memory=record.worker_memory, idle_timeout=int(record.idle_timeout),
            owner_pod=record.owner_pod, environment=self.environment,
            dashboard_prefix=dashboard_prefix,
            scheduler_cores=self.settings.scheduler_cores,
            scheduler_memory=self.settings.scheduler_memory,
            annotations=((RECORD_ANNOTATION, _described(record)),),
            credentials_secret=template.format(username=safe_slug(record.owner, max_length=48))
            if template else None)

    def _host(self, record: ClusterRecord) -> str:
        return f"{record.id}-scheduler.{self.api.namespace}.svc"

    async def start(self, record: ClusterRecord, credentials: ClusterCredentials,
                    dashboard_prefix: str) -> None:
        """Send the Secret, the DaskCluster and (adaptive) its DaskAutoscaler; a refusal
        removes what was sent. The operator starts the pods; clients wait for them."""
        record.image = record.image or self.settings.image
        spec = self.spec(record, dashboard_prefix)
        manifests = [tls_secret_manifest(spec, credentials), cluster_manifest(spec)]
        if record.adaptive:
            manifests.append(autoscaler_manifest(spec, record.adaptive["minimum"],
                                                 record.adaptive["maximum"]))
        try:
            for manifest in manifests:
                await self.api.create(manifest)
        except (KubeError, aiohttp.ClientError, OSError) as err:
            await self.stop(record)
            raise BackendError(f"the Kubernetes API did not take cluster {record.id}: "
                               f"{err}") from None
        record.address = f"tls://{self._host(record)}:{SCHEDULER_PORT}"

    async def scale(self, record: ClusterRecord) -> None:
        """A fixed size patches the DaskCluster's replicas (and drops any autoscaler);
        adaptive bounds make or change its DaskAutoscaler."""
        spec = self.spec(record)
        described = {"metadata": {"annotations": {RECORD_ANNOTATION: _described(record)}}}
        try:
            if record.adaptive:
                bounds = {"minimum": record.adaptive["minimum"],
                          "maximum": record.adaptive["maximum"]}
                if await self.api.get("DaskAutoscaler", record.id) is None:
                    await self.api.create(autoscaler_manifest(spec, **bounds))
                else:
                    await self.api.patch("DaskAutoscaler", record.id, {"spec": bounds})
                await self.api.patch("DaskCluster", record.id, described)
            else:
                await self.api.delete("DaskAutoscaler", record.id)
                await self.api.patch("DaskCluster", record.id, {
                    **described, "spec": {"worker": {"replicas": record.workers}}})
        except (KubeError, aiohttp.ClientError, OSError) as err:
            raise BackendError(f"the Kubernetes API did not scale {record.id}: {err}"
                               ) from None

    async def stop(self, record: ClusterRecord) -> None:
        """Delete the cluster's autoscaler, DaskCluster and Secret (missing ones are fine)."""
        for kind, name in (("DaskAutoscaler", record.id), ("DaskCluster", record.id),
                           ("Secret", f"{record.id}-tls")):
            try:
                await self.api.delete(kind, name)
            except (KubeError, aiohttp.ClientError, OSError) as err:
                log.warning("could not delete %s %s: %s", kind, name, err)

    async def ended(self, records: list[ClusterRecord]) -> set[str]:
        """Clusters whose DaskCluster is gone (idle timeout, garbage collection, someone
        with rights deleted it); one list call per round. An API that does not answer says
        nothing about them: nothing is reported."""
        if not records:
            return set()
        try:
            present = {c["metadata"]["name"] for c in await self.api.owned("DaskCluster")}
        except (KubeError, aiohttp.ClientError, OSError) as err:
            log.warning("cannot list DaskClusters: %s", err)
            return set()
        return {r.id for r in records if r.id not in present}

    async def supervise(self, record: ClusterRecord) -> None:
        """Nothing: the operator replaces workers and its autoscaler adapts."""

    async def rediscover(self, store: RecordStore
                         ) -> tuple[list[ClusterRecord], list[ClusterRecord]]:
        """Every DaskCluster this service made that still has its description and Secret is
        taken back (its credentials copied into ``store``); the rest, and Secrets or
        autoscalers left without a cluster, are removed."""
        clusters = await self.api.owned("DaskCluster")
        secrets = {s["metadata"]["name"]: s for s in await self.api.owned("Secret")}
        live, dead = [], []
        for cluster in clusters:
            meta = cluster["metadata"]
            name = meta["name"]
            try:
                described = json.loads(meta.get("annotations", {})[RECORD_ANNOTATION])
                record = ClusterRecord(id=name, status="running", **{
                    k: described[k] for k in DESCRIBED})
                credentials = _credentials(secrets[f"{name}-tls"])
            except (KeyError, ValueError, TypeError):
                owner = meta.get("annotations", {}).get(OWNER_ANNOTATION, "?")
                dead.append(ClusterRecord(id=name, owner=owner))
                continue
            record.address = f"tls://{self._host(record)}:{SCHEDULER_PORT}"
            store.save(record)
            store.save_credentials(record.id, credentials)
            live.append(record)
        names = {c["metadata"]["name"] for c in clusters}
        for kind, items in (("Secret", list(secrets)),
                            ("DaskAutoscaler", [a["metadata"]["name"] for a in
                                                await self.api.owned("DaskAutoscaler")])):
            for item in items:
                if item.removesuffix("-tls") not in names:
                    log.info("removing %s %s left without its cluster", kind, item)
                    await self.api.delete(kind, item)
        known = {r.id for r in live}
        dead += [r for r in store.load() if r.id not in known and r.id not in names]
        return live, dead

    def dashboard_url(self, record: ClusterRecord) -> str | None:
        """The scheduler's Service inside the cluster."""
        return f"http://{self._host(record)}:{DASHBOARD_PORT}"
