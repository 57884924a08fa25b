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
import yaml
from wisehub.compute.hubapi import HubAPI, HubUser
from wisehub.compute.kubebackend import KubeBackend
from wisehub.compute.kubernetes import (
    CLUSTER_LABEL,
    OWNER_ANNOTATION,
    OWNER_LABEL,
    RECORD_ANNOTATION,
    KubeAPI,
    KubeError,
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
        try:
            return await super()._call(method, url, body, content_type, params)
        except KubeError as err:
            # The stand-in's quirk (kmock 0.8): a missing object is a 500 whose text names
            # KubernetesObjectNotFoundError, where Kubernetes answers 404.
            if "KubernetesObjectNotFoundError" in str(err):
                raise KubeError(f"{method} {url}: 404 Not Found") from None
            raise


class GivenHub(HubAPI):
    """The hub's answers, given by the test (the real hub is in test_service.py)."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/hub/api", "unused")
        self.servers: dict[str, str] = {}

    async def user(self, name: str, fresh: bool = False) -> HubUser | None:
        return HubUser(name, False, frozenset(), self.servers.get(name))

    async def running_servers(self) -> dict[str, str | None]:
        return dict(self.servers)


CRDS = Path("/work/shared/reference/dask-operator-crds")


def validate(manifest: dict) -> None:
    """The operator's CRD schema for its kinds (and strict core validation of the pod
    specs in a DaskCluster); strict core validation for the rest."""
    kind = manifest["kind"]
    if kind in ("DaskCluster", "DaskAutoscaler"):
        crd = yaml.safe_load((CRDS / f"{kind.lower()}.yaml").read_text())
        [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        jsonschema.validate(manifest, version["schema"]["openAPIV3Schema"])
        if kind == "DaskCluster":
            for role in ("scheduler", "worker"):
                part = manifest["spec"][role]
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "p", **part["metadata"]}, "spec": part["spec"]}
                kubernetes_validate.validate(pod, "1.32", strict=True)
    else:
        kubernetes_validate.validate(manifest, "1.32", strict=True)


ROLE = {"daskclusters": {"get", "list", "create", "patch", "delete"},
        "daskautoscalers": {"get", "list", "create", "patch", "delete"},
        "secrets": {"list", "create", "delete"}}
"""The rules the compute service's Role needs, and all it needs."""
VERBS = {("POST", False): "create", ("GET", False): "list", ("GET", True): "get",
         ("PATCH", True): "patch", ("DELETE", True): "delete"}


def test_the_service_drives_dask_clusters_on_a_stand_in_api_server(tmp_path: Path):
    """STAND-IN API server (kmock), not a live cluster."""
    assert CRDS.is_dir()
    settings = ComputeSettings(backend="kubernetes", limits={"clusters": 3},
                               kubernetes=KubernetesSettings(
        image="registry.example/wisehub/singleuser:default", images=[IMAGE]))

    async def scenario() -> RecordingAPI:
        stand_in = kmock.KubernetesEmulator()
        async with kmock.Server(stand_in):
            sent_by_service = RecordingAPI(str(stand_in.url), "wisehub")
            api = RecordingAPI(str(stand_in.url), "wisehub")  # the test's own look
            hub = GivenHub()
            hub.servers[ADA] = "2026-12-02T05:00:00Z"

            def manager(state: Path) -> ClusterManager:
                backend = KubeBackend(sent_by_service, settings.kubernetes,
                                      {"WISEHUB_MODE": "cluster"})
                return ClusterManager(settings, state, hub, backend=backend)

            service = manager(tmp_path / "first")
            owner = HubUser(ADA, False, frozenset(), hub.servers[ADA])
            fixed = await service.create(owner, ClusterRequest.model_validate(
                {"workers": 2, "image": IMAGE, "owner_pod": POD}))
            adaptive = await service.create(owner, ClusterRequest.model_validate(
                {"adaptive": {"minimum": 0, "maximum": 2}, "owner_pod": POD}))
            sent = len(sent_by_service.calls)
            # Limits are checked before anything is created or changed (the service only
            # reads which of the owner's clusters still run): 4 workers are held.
            with pytest.raises(LimitExceeded, match="'workers' is 4 per user; you hold 4"):
                await service.create(owner, ClusterRequest(workers=1))
            with pytest.raises(Refused, match="not one this hub offers"):
                await service.create(owner, ClusterRequest(workers=0, image="evil/miner:1"))
            assert {method for method, _, _ in sent_by_service.calls[sent:]} == {"GET"}

            cluster = await api.get("DaskCluster", fixed.id)
            meta = cluster["metadata"]
            assert meta["labels"][OWNER_LABEL] == "ada-lab---4c7ef345"  # KubeSpawner's slug
            assert meta["labels"][CLUSTER_LABEL] == fixed.id
            assert meta["annotations"][OWNER_ANNOTATION] == ADA
            assert meta["ownerReferences"][0] | {} == {
                "apiVersion": "v1", "kind": "Pod", "blockOwnerDeletion": False, **POD}
            assert cluster["spec"]["worker"]["replicas"] == 2
            for role in ("scheduler", "worker"):
                part = cluster["spec"][role]
                assert part["metadata"]["labels"][OWNER_LABEL] == "ada-lab---4c7ef345"
                [container] = part["spec"]["containers"]
                assert container["image"] == IMAGE  # the owner's own server image
                assert {"name": "WISEHUB_MODE", "value": "cluster"} in container["env"]
                assert container["envFrom"] == [{"secretRef": {
                    "name": "wisehub-user-ada-lab---4c7ef345", "optional": True}}]
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
            assert secret["metadata"]["labels"][OWNER_LABEL] == "ada-lab---4c7ef345"

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
            return sent_by_service

    api = asyncio.run(scenario())
    bodies = [body for method, _, body in api.calls if method == "POST"]
    assert {b["kind"] for b in bodies} == {"DaskCluster", "DaskAutoscaler", "Secret"}
    for body in bodies:
        validate(body)
    # What the service's Role must grant (helm chart): at most these, on nothing else.
    used = set()
    for method, url, _ in api.calls:
        plural, *name = url.split("?")[0].split("/namespaces/wisehub/", 1)[1].split("/")
        used.add((plural, VERBS[method, bool(name)]))
    assert {plural for plural, _ in used} == set(ROLE)
    assert all(verb in ROLE[plural] for plural, verb in used), used


def test_the_owner_label_is_the_one_network_policies_select():
    assert KubeSettings().owner_label == OWNER_LABEL


def test_a_user_server_names_its_image_and_pod(monkeypatch):
    from wisehub.compute.api_client import server_identity

    monkeypatch.setenv("JUPYTER_IMAGE_SPEC", IMAGE)
    monkeypatch.setenv("WISEHUB_POD_NAME", POD["name"])
    monkeypatch.setenv("WISEHUB_POD_UID", POD["uid"])
    sent = server_identity()
    assert sent == {"image": IMAGE, "owner_pod": POD}
    assert ClusterRequest.model_validate({"workers": 1, **sent}).owner_pod.uid == POD["uid"]
    with pytest.raises(ValueError, match="owner_pod.uid"):
        ClusterRequest.model_validate({"owner_pod": {"name": "p", "uid": "../../x"}})


def test_the_service_in_a_pod_uses_its_own_account(tmp_path: Path):
    from wisehub.compute.manager import make_backend
    from wisehub.compute.records import RecordStore
    from wisehub.compute.security import ClusterCredentials

    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("service-token\n")
    (account / "namespace").write_text("wisehub-prod\n")
    (account / "ca.crt").write_text(ClusterCredentials.new().ca)
    settings = ComputeSettings(backend="kubernetes", kubernetes=KubernetesSettings(
        service_account_dir=account))
    backend = make_backend(settings, tmp_path, RecordStore(tmp_path / "records"))
    assert isinstance(backend, KubeBackend)
    assert backend.api.namespace == "wisehub-prod"
    assert backend.api.headers == {"Authorization": "Bearer service-token"}
    assert backend.api.url == "https://kubernetes.default.svc"
