"""The service's Kubernetes backend, driven by the real cluster manager, against **a stand-in
API server**: kmock's stateful ``KubernetesEmulator``. It is not Kubernetes (no operator, no
garbage collector, no admission): this checks what the service sends and how it reads the
API back (limits before creating, labels, ownerReference, image, TLS Secret, scale, delete,
rediscovery after a restart with no disk state, following the owner's server). Every object
sent is validated against the operator's CRDs (``/work/shared/reference/``) and, for core
kinds, with ``kubernetes-validate --strict``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import kmock
import kubernetes_validate
import pytest
from test_kubernetes import CRDS, crd_schema  # tests/compute is on the path
from wisehub.compute.hubapi import HubAPI, HubUser
from wisehub.compute.kubebackend import KubeBackend
from wisehub.compute.kubernetes import (
    CLUSTER_LABEL,
    OWNER_ANNOTATION,
    OWNER_LABEL,
    RECORD_ANNOTATION,
    KubeAPI,
)
from wisehub.compute.limits import LimitExceeded
from wisehub.compute.manager import ClusterManager, Refused
from wisehub.compute.schema import ClusterRequest, ScaleRequest
from wisehub.compute.settings import ComputeSettings, KubernetesSettings
from wisehub.hub.kube_settings import KubeSettings

IMAGE = "registry.example/wisehub/singleuser:2026.11"
POD = {"name": "jupyter-ada-40lab", "uid": "0f6c1f7e-0000-4000-8000-123456789abc"}
ADA = "ada@lab"  # not a valid label value: the label holds its slug, an annotation the name


class RecordingAPI(KubeAPI):
    """The service's client, keeping every call it makes (for RBAC and validation)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, str, object]] = []

    async def _call(self, method, url, body=None, content_type="application/json",
                    params=None):
        self.calls.append((method, url, body))
        return await super()._call(method, url, body, content_type, params)


class GivenHub(HubAPI):
    """The hub's answers, given by the test (the real hub is in test_service.py)."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/hub/api", "unused")
        self.servers: dict[str, str] = {}

    async def user(self, name: str, fresh: bool = False) -> HubUser | None:
        return HubUser(name, False, frozenset(), self.servers.get(name))

    async def running_servers(self) -> dict[str, str | None]:
        return dict(self.servers)


def validate(manifest: dict) -> None:
    kind = manifest["kind"]
    if kind in ("DaskCluster", "DaskAutoscaler"):
        jsonschema.validate(manifest, crd_schema(kind.lower()))
        if kind == "DaskCluster":
            for role in ("scheduler", "worker"):
                part = manifest["spec"][role]
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "p", **part["metadata"]}, "spec": part["spec"]}
                kubernetes_validate.validate(pod, "1.32", strict=True)
    else:
        kubernetes_validate.validate(manifest, "1.32", strict=True)


def resource(url: str) -> str:
    """The resource (plural) of an API path of the namespace."""
    return url.split("/namespaces/", 1)[1].split("/")[1]


VERBS = {("POST", False): "create", ("GET", False): "list", ("GET", True): "get",
         ("PATCH", True): "patch", ("DELETE", True): "delete"}


def test_the_service_drives_dask_clusters_on_a_stand_in_api_server(tmp_path: Path):
    """STAND-IN API server (kmock), not a live cluster."""
    assert CRDS.is_dir()
    settings = ComputeSettings(backend="kubernetes", kubernetes=KubernetesSettings(
        image="registry.example/wisehub/singleuser:default", images=[IMAGE]))

    async def scenario() -> RecordingAPI:
        stand_in = kmock.KubernetesEmulator()
        async with kmock.Server(stand_in):
            api = RecordingAPI(str(stand_in.url), "wisehub")
            hub = GivenHub()
            hub.servers[ADA] = "2026-12-02T05:00:00Z"

            def manager(state: Path) -> ClusterManager:
                backend = KubeBackend(api, settings.kubernetes, {"WISEHUB_MODE": "cluster"})
                return ClusterManager(settings, state, hub, backend=backend)

            service = manager(tmp_path / "first")
            owner = HubUser(ADA, False, frozenset(), hub.servers[ADA])
            fixed = await service.create(owner, ClusterRequest.model_validate(
                {"workers": 2, "image": IMAGE, "owner_pod": POD}))
            adaptive = await service.create(owner, ClusterRequest.model_validate(
                {"adaptive": {"minimum": 0, "maximum": 2}, "owner_pod": POD}))
            sent = len(api.calls)
            # Limits are checked before anything is sent: 4 workers are held.
            with pytest.raises(LimitExceeded, match="'workers' is 4 per user; you hold 4"):
                await service.create(owner, ClusterRequest(workers=1))
            with pytest.raises(Refused, match="not one this hub offers"):
                await service.create(owner, ClusterRequest(workers=0, image="evil/miner:1"))
            assert len(api.calls) == sent

            cluster = await api.get("DaskCluster", fixed.id)
            meta = cluster["metadata"]
            assert meta["labels"][OWNER_LABEL] == "ada-40lab"  # KubeSpawner's slug
            assert meta["labels"][CLUSTER_LABEL] == fixed.id
            assert meta["annotations"][OWNER_ANNOTATION] == ADA
            assert meta["ownerReferences"][0] | {} == {
                "apiVersion": "v1", "kind": "Pod", "blockOwnerDeletion": False, **POD}
            assert cluster["spec"]["worker"]["replicas"] == 2
            for role in ("scheduler", "worker"):
                part = cluster["spec"][role]
                assert part["metadata"]["labels"][OWNER_LABEL] == "ada-40lab"
                [container] = part["spec"]["containers"]
                assert container["image"] == IMAGE  # the owner's own server image
                assert {"name": "WISEHUB_MODE", "value": "cluster"} in container["env"]
                assert container["envFrom"] == [{"secretRef": {
                    "name": "wisehub-user-ada-40lab", "optional": True}}]
            scheduler = cluster["spec"]["scheduler"]["spec"]["containers"][0]
            prefix = f"/services/compute/clusters/{fixed.id}"
            assert scheduler["args"][-2:] == ["--dashboard-prefix", prefix]
            assert scheduler["readinessProbe"]["httpGet"]["path"] == f"{prefix}/health"
            assert fixed.address == f"tls://{fixed.id}-scheduler.wisehub.svc:8786"
            assert service.backend.dashboard_url(fixed) == \
                f"http://{fixed.id}-scheduler.wisehub.svc:8787"
            default_image = (await api.get("DaskCluster", adaptive.id))["spec"]["worker"][
                "spec"]["containers"][0]["image"]
            assert default_image == "registry.example/wisehub/singleuser:default"
            scaler = await api.get("DaskAutoscaler", adaptive.id)
            assert scaler["spec"] == {"cluster": adaptive.id, "minimum": 0, "maximum": 2}
            secret = await api.get("Secret", f"{fixed.id}-tls")
            assert secret["metadata"]["labels"][OWNER_LABEL] == "ada-40lab"

            # Scale: fixed -> 1 replica; adaptive -> fixed (its autoscaler goes); and back.
            await service.scale(owner, fixed, ScaleRequest(workers=1))
            assert (await api.get("DaskCluster", fixed.id))["spec"]["worker"]["replicas"] == 1
            await service.scale(owner, adaptive, ScaleRequest(workers=1))
            assert await api.get("DaskAutoscaler", adaptive.id) is None
            assert (await api.get("DaskCluster", adaptive.id))["spec"]["worker"][
                "replicas"] == 1
            await service.scale(owner, fixed, ScaleRequest.model_validate(
                {"adaptive": {"minimum": 1, "maximum": 3}}))
            assert (await api.get("DaskAutoscaler", fixed.id))["spec"]["maximum"] == 3
            with pytest.raises(LimitExceeded, match="'workers' is 4 per user; you hold 3"):
                await service.scale(owner, adaptive, ScaleRequest(workers=2))

            # The service restarts on a fresh disk; a Secret of a cluster that never came
            # to be is left over. Everything is found again from the API alone.
            await api.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                              "metadata": {"name": "c-000000000000-tls",
                                           "labels": dict(secret["metadata"]["labels"])},
                              "data": {}})
            again = manager(tmp_path / "second")
            await again.rediscover()
            assert sorted(again.records) == sorted([fixed.id, adaptive.id])
            back = again.records[fixed.id]
            assert (back.owner, back.adaptive, back.image, back.owner_pod) == (
                ADA, {"minimum": 1, "maximum": 3}, IMAGE, POD)
            assert back.address == fixed.address
            assert again.credentials(back) == service.credentials(fixed)
            assert await api.get("Secret", "c-000000000000-tls") is None
            described = json.loads((await api.get("DaskCluster", adaptive.id))["metadata"][
                "annotations"][RECORD_ANNOTATION])
            assert described["workers"] == 1 and described["adaptive"] is None

            # The operator ends one at its idle timeout: the service forgets it and removes
            # what is left of it.
            await api.delete("DaskCluster", adaptive.id)
            await again.check_once()
            assert list(again.records) == [fixed.id]
            assert await api.get("Secret", f"{adaptive.id}-tls") is None
            # The owner's server stops: the rest goes.
            del hub.servers[ADA]
            await again.check_once()
            assert again.records == {}
            for kind in ("DaskCluster", "DaskAutoscaler", "Secret"):
                assert await api.owned(kind) == []
            return api

    api = asyncio.run(scenario())
    bodies = [body for method, _, body in api.calls if method == "POST"]
    assert {b["kind"] for b in bodies} == {"DaskCluster", "DaskAutoscaler", "Secret"}
    for body in bodies:
        validate(body)
    # What the service's Role must grant: these verbs on these resources, nothing else.
    used = {(resource(url).split("?")[0], VERBS[method, resource(url) != url.rsplit("/", 1)[1]
                                                and "/" in url.split(resource(url), 1)[1]])
            for method, url, _ in api.calls}
    assert {r for r, _ in used} == {"daskclusters", "daskautoscalers", "secrets"}
    print("RBAC used:", sorted(used))


def test_the_owner_label_is_the_one_network_policies_select():
    assert OWNER_LABEL == KubeSettings().owner_label
