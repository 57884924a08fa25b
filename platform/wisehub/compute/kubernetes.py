"""The Kubernetes backend: ``DaskCluster``/``DaskAutoscaler`` objects for the dask-kubernetes
operator, built by pure functions, and the one small client the service sends them with.

Every object carries the owner's labels and, when the owner's server pod is known, an
ownerReference to it, so Kubernetes removes the cluster with the server even while the service
is down. Dask pods run the owner's own image (``JUPYTER_IMAGE_SPEC``), get no service-account
token, have requests equal to limits, and speak TLS with the cluster's credentials, mounted
from a Secret that belongs to the cluster.

>>> spec = cluster_manifest(ClusterSpec("c-1", "ada", "wisehub/singleuser:1", workers=2))
>>> spec["kind"], spec["metadata"]["labels"][OWNER_LABEL], spec["spec"]["worker"]["replicas"]
('DaskCluster', 'ada', 2)
"""

from __future__ import annotations

import base64
import copy
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from wisehub.compute.security import FILES, ClusterCredentials

GROUP = "kubernetes.dask.org"
VERSION = "v1"
OWNER_LABEL = "wisehub.org/owner"
"""The owner's label (the hub's ``KubeSettings.owner_label``: NetworkPolicies select by it);
its value is KubeSpawner's safe slug of the user name, the exact name is an annotation."""
OWNER_ANNOTATION = "wisehub.org/owner-name"
CLUSTER_LABEL = "wisehub.org/cluster"
RECORD_ANNOTATION = "wisehub.org/record"
"""The service's description of the cluster (sizes, lifetime; no secrets), for rediscovery."""
SCHEDULER_PORT = 8786
DASHBOARD_PORT = 8787
MANAGED_BY = {"app.kubernetes.io/managed-by": "wisehub-compute"}
TLS_DIR = "/etc/dask/tls"
PLURALS = {"DaskCluster": "daskclusters", "DaskAutoscaler": "daskautoscalers",
           "Secret": "secrets"}


@dataclass(frozen=True)
class ClusterSpec:
    """What the service decided about one cluster on Kubernetes."""

    name: str
    owner: str
    image: str
    workers: int = 1
    worker_cores: float = 1
    worker_memory: int = 2**30
    idle_timeout: int = 1800
    owner_pod: dict[str, str] | None = None
    """``{"name": ..., "uid": ...}`` of the owner's server pod."""
    environment: tuple[tuple[str, str], ...] = ()
    dashboard_prefix: str = ""
    """The path the scheduler serves its dashboard under (the service's proxy route)."""
    scheduler_cores: float = 1
    scheduler_memory: int = 2**30
    annotations: tuple[tuple[str, str], ...] = ()
    credentials_secret: str | None = None
    """The owner's own data-credentials Secret, whose keys become the pods' environment."""
    uid: int = 1000
    """The (non-root) user the pods run as: the notebook image's user."""

    @property
    def labels(self) -> dict[str, str]:
        """The labels every object (and pod) of this cluster carries."""
        from kubespawner.slugs import safe_slug

        return {**MANAGED_BY, OWNER_LABEL: safe_slug(self.owner, max_length=48),
                CLUSTER_LABEL: self.name}

    def metadata(self, name: str | None = None) -> dict[str, Any]:
        """Object metadata: name, labels, and the ownerReference to the server pod."""
        meta: dict[str, Any] = {"name": name or self.name, "labels": dict(self.labels),
                                "annotations": {OWNER_ANNOTATION: self.owner,
                                                **dict(self.annotations)}}
        if self.owner_pod:
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod",
                                        "name": self.owner_pod["name"],
                                        "uid": self.owner_pod["uid"],
                                        "blockOwnerDeletion": False}]
        return meta


def tls_secret_name(spec: ClusterSpec) -> str:
    """The Secret holding the cluster's TLS files."""
    return f"{spec.name}-tls"


def _resources(cores: float, memory: int) -> dict[str, dict[str, str]]:
    amount = {"cpu": f"{int(cores * 1000)}m", "memory": str(memory)}
    return {"requests": dict(amount), "limits": dict(amount)}


def harden_pod(pod: dict[str, Any], uid: int = 1000) -> dict[str, Any]:
    """Make ``pod`` (a pod spec, in place) pass the "restricted" Pod Security Standard: no
    service-account token, a non-root user, the runtime's seccomp profile, no capabilities.

    >>> pod = harden_pod({"containers": [{"name": "worker"}]})
    >>> pod["securityContext"]["runAsNonRoot"], pod["containers"][0]["securityContext"]
    (True, {'allowPrivilegeEscalation': False, 'capabilities': {'drop': ['ALL']}})
    """
    pod["automountServiceAccountToken"] = False
    pod["securityContext"] = {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid,
                              "fsGroup": uid, "seccompProfile": {"type": "RuntimeDefault"}}
    for container in pod["containers"]:
        container["securityContext"] = {"allowPrivilegeEscalation": False,
                                        "capabilities": {"drop": ["ALL"]}}
    return pod


def _secure_pod(pod: dict[str, Any], spec: ClusterSpec, role: str) -> None:
    """Harden one pod spec in place: no token, TLS mounted, owner's env, the sizes."""
    harden_pod(pod, spec.uid)
    pod["volumes"] = [{"name": "tls", "secret": {"secretName": tls_secret_name(spec),
                                                 "defaultMode": 0o400}}]
    container = pod["containers"][0]
    container["env"] = [{"name": k, "value": v} for k, v in spec.environment]
    if spec.credentials_secret:
        container["envFrom"] = [{"secretRef": {"name": spec.credentials_secret,
                                               "optional": True}}]
    container["volumeMounts"] = [{"name": "tls", "mountPath": TLS_DIR, "readOnly": True}]
    tls = ["--tls-ca-file", f"{TLS_DIR}/{FILES['ca']}", "--tls-cert", f"{TLS_DIR}/{FILES['cert']}",
           "--tls-key", f"{TLS_DIR}/{FILES['key']}", "--protocol", "tls"]
    container["args"] = [*container["args"], *tls]
    if role == "worker":
        container["args"] += ["--nthreads", str(max(1, int(spec.worker_cores))),
                              "--memory-limit", str(spec.worker_memory)]
        container["resources"] = _resources(spec.worker_cores, spec.worker_memory)
    else:
        container["resources"] = _resources(spec.scheduler_cores, spec.scheduler_memory)
        if spec.dashboard_prefix:
            container["args"] += ["--dashboard-prefix", spec.dashboard_prefix]
            for probe in ("readinessProbe", "livenessProbe"):
                container[probe]["httpGet"]["path"] = f"{spec.dashboard_prefix}/health"


def cluster_manifest(spec: ClusterSpec) -> dict[str, Any]:
    """The ``DaskCluster`` for ``spec`` (built on the operator's ``make_cluster_spec``)."""
    from dask_kubernetes.operator import make_cluster_spec

    cluster = copy.deepcopy(make_cluster_spec(
        name=spec.name, image=spec.image, n_workers=spec.workers,
        env={}, idle_timeout=spec.idle_timeout))
    cluster["metadata"] = spec.metadata()
    for role in ("worker", "scheduler"):
        cluster["spec"][role]["metadata"] = {"labels": dict(spec.labels)}
        _secure_pod(cluster["spec"][role]["spec"], spec, role)
    cluster["spec"]["scheduler"]["service"]["selector"] = {
        "dask.org/cluster-name": spec.name, "dask.org/component": "scheduler"}
    return cluster


def autoscaler_manifest(spec: ClusterSpec, minimum: int, maximum: int) -> dict[str, Any]:
    """The ``DaskAutoscaler`` keeping the cluster between ``minimum`` and ``maximum``."""
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "DaskAutoscaler",
            "metadata": spec.metadata(), "spec": {"cluster": spec.name, "minimum": minimum,
                                                  "maximum": maximum}}


def tls_secret_manifest(spec: ClusterSpec, credentials: ClusterCredentials) -> dict[str, Any]:
    """The Secret with the cluster's TLS files (readable by the service and Dask pods only)."""
    data = {FILES[field]: base64.b64encode(text.encode()).decode()
            for field, text in credentials.as_dict().items()}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": spec.metadata(tls_secret_name(spec)), "data": data}


def pod_specs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs inside a ``DaskCluster`` (scheduler, worker)."""
    return [manifest["spec"]["scheduler"]["spec"], manifest["spec"]["worker"]["spec"]]


def _reason(text: str) -> str:
    """What an error reply says: a Status's message, else its last line (short).

    >>> _reason('{"kind": "Status", "message": "daskclusters x not found"}')
    'daskclusters x not found'
    """
    try:
        return str(json.loads(text)["message"])[:300]
    except (ValueError, KeyError, TypeError):
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""


class KubeError(RuntimeError):
    """The API server refused a call; the message has its status and reason."""


class KubeAPI:
    """The service's only way to the Kubernetes API: create, label, list, delete objects
    in one namespace. ``token`` and ``ssl`` come from the service's pod in a real cluster."""

    def __init__(self, url: str, namespace: str, token: str | None = None,
                 ssl: Any = None) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.ssl = ssl

    @classmethod
    def in_cluster(cls, url: str, account_dir: Path, namespace: str | None = None) -> KubeAPI:
        """The client of a service running in a pod: its service account's token and CA,
        and its own namespace unless ``namespace`` is given."""
        token = (account_dir / "token").read_text().strip()
        context = ssl.create_default_context(cafile=str(account_dir / "ca.crt"))
        return cls(url, namespace or (account_dir / "namespace").read_text().strip(), token,
                   context)

    def _path(self, kind: str, name: str | None = None) -> str:
        base = ("/api/v1" if kind == "Secret" else f"/apis/{GROUP}/{VERSION}")
        path = f"{self.url}{base}/namespaces/{quote(self.namespace)}/{PLURALS[kind]}"
        return f"{path}/{quote(name)}" if name else path

    async def _call(self, method: str, url: str, body: Any = None,
                    content_type: str = "application/json", params: Any = None) -> Any:
        headers = {**self.headers, "Content-Type": content_type}
        async with aiohttp.ClientSession() as session, session.request(
                method, url, data=None if body is None else json.dumps(body),
                headers=headers, params=params, ssl=self.ssl) as reply:
            text = await reply.text()
            if reply.status >= 400:
                raise KubeError(f"{method} {url}: {reply.status} {_reason(text)}")
            return json.loads(text) if text else None

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create ``manifest`` in the namespace."""
        return await self._call("POST", self._path(manifest["kind"]), manifest)

    async def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """One object (None if there is none)."""
        try:
            return await self._call("GET", self._path(kind, name))
        except KubeError as err:
            if " 404 " in str(err):
                return None
            raise

    async def patch(self, kind: str, name: str, change: dict[str, Any]) -> dict[str, Any]:
        """Merge ``change`` into an object (a JSON merge patch)."""
        return await self._call("PATCH", self._path(kind, name), change,
                                "application/merge-patch+json")

    async def label(self, kind: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
        """Merge ``labels`` into an object's labels."""
        return await self.patch(kind, name, {"metadata": {"labels": labels}})

    async def delete(self, kind: str, name: str) -> None:
        """Delete an object (a missing one is not an error)."""
        try:
            await self._call("DELETE", self._path(kind, name))
        except KubeError as err:
            if " 404 " not in str(err):
                raise

    async def owned(self, kind: str, owner: str | None = None) -> list[dict[str, Any]]:
        """Objects of ``kind`` that this service manages (of ``owner``, if given): what a
        restarted service rediscovers."""
        from kubespawner.slugs import safe_slug

        wanted = {**MANAGED_BY, **({OWNER_LABEL: safe_slug(owner, max_length=48)}
                                   if owner else {})}
        selector = ",".join(f"{k}={v}" for k, v in wanted.items())
        listing = await self._call("GET", self._path(kind), params={"labelSelector": selector})
        # Filter here too: the selector is the server's job, the guarantee is ours.
        return [item for item in listing.get("items", [])
                if wanted.items() <= item.get("metadata", {}).get("labels", {}).items()]
