"""The Kubernetes backend without a cluster (no API server can run here).

- Generated ``DaskCluster``/``DaskAutoscaler`` objects validate against the operator's real
  CRDs (``/work/shared/reference/dask-operator-crds/``, jsonschema on ``openAPIV3Schema``).
- Every pod spec inside, wrapped in a v1 Pod, and the TLS Secret pass ``kubernetes-validate
  --strict`` for Kubernetes 1.32 and the newest version it bundles.
- The client interface runs against **a stand-in API server** (kmock's stateful
  ``KubernetesEmulator``), not Kubernetes: it checks the calls (create, label, ownerReference,
  list by label for rediscovery, delete), not what a real control plane would do with them.
"""

from __future__ import annotations

import asyncio
import base64

import jsonschema
import kmock
import kubernetes_validate
import pytest
from kubevalidate import VERSIONS, crd_schema  # tests/ is on pytest's pythonpath
from wisehub.compute.kubernetes import (
    CLUSTER_LABEL,
    OWNER_LABEL,
    ClusterSpec,
    KubeAPI,
    autoscaler_manifest,
    cluster_manifest,
    pod_specs,
    tls_secret_manifest,
)
from wisehub.compute.security import ClusterCredentials

SPEC = ClusterSpec("c-abc123", "ada", "registry.example/wisehub/singleuser:2026.11",
                   workers=3, worker_cores=2, worker_memory=3 * 2**30, idle_timeout=900,
                   owner_pod={"name": "jupyter-ada", "uid": "0f6c1f7e-0000-4000-8000-1234"},
                   environment=(("WISEHUB_USER", "ada"),))


def test_cluster_and_autoscaler_validate_against_the_operator_crds():
    cluster = cluster_manifest(SPEC)
    jsonschema.validate(cluster, crd_schema("daskcluster"))
    jsonschema.validate(autoscaler_manifest(SPEC, 1, 3), crd_schema("daskautoscaler"))
    broken = cluster_manifest(SPEC)
    broken["spec"]["worker"]["replicas"] = "three"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, crd_schema("daskcluster"))


def test_cluster_carries_owner_image_limits_and_no_token():
    cluster = cluster_manifest(SPEC)
    assert cluster["spec"]["idleTimeout"] == 900
    meta = cluster["metadata"]
    assert meta["labels"][OWNER_LABEL] == "ada" and meta["labels"][CLUSTER_LABEL] == SPEC.name
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Pod",
                                        "name": "jupyter-ada", "uid": SPEC.owner_pod["uid"],
                                        "blockOwnerDeletion": False}]
    scheduler, worker = pod_specs(cluster)
    for pod in (scheduler, worker):
        assert pod["automountServiceAccountToken"] is False
        [container] = pod["containers"]
        assert container["image"] == SPEC.image
        assert "--protocol" in container["args"] and "tls" in container["args"]
        assert container["resources"]["requests"] == container["resources"]["limits"]
    assert worker["containers"][0]["resources"]["limits"] == {"cpu": "2000m",
                                                              "memory": str(3 * 2**30)}


@pytest.mark.parametrize("version", VERSIONS)
def test_pod_specs_and_secret_pass_strict_kubernetes_validation(version):
    for index, pod_spec in enumerate(pod_specs(cluster_manifest(SPEC))):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"p{index}", "labels": SPEC.labels}, "spec": pod_spec}
        kubernetes_validate.validate(pod, version, strict=True)
    secret = tls_secret_manifest(SPEC, ClusterCredentials.new())
    kubernetes_validate.validate(secret, version, strict=True)
    misspelt = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                "spec": {**pod_specs(cluster_manifest(SPEC))[1], "automountToken": False}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, version, strict=True)


def test_client_against_a_stand_in_api_server():
    """STAND-IN: kmock's in-memory Kubernetes emulator, not a real API server."""
    async def scenario() -> None:
        stand_in = kmock.KubernetesEmulator()
        async with kmock.Server(stand_in):
            api = KubeAPI(str(stand_in.url), "wisehub")
            credentials = ClusterCredentials.new()
            await api.create(tls_secret_manifest(SPEC, credentials))
            await api.create(cluster_manifest(SPEC))
            await api.create(autoscaler_manifest(SPEC, 1, 3))
            other = ClusterSpec("c-bob001", "bob", SPEC.image)
            await api.create(cluster_manifest(other))
            await api.label("DaskCluster", SPEC.name, {"wisehub.io/state": "running"})

            # A restarted service finds its clusters (and each owner's) by label.
            found = await api.owned("DaskCluster")
            assert sorted(c["metadata"]["name"] for c in found) == [SPEC.name, other.name]
            [ada] = await api.owned("DaskCluster", owner="ada")
            assert ada["metadata"]["labels"]["wisehub.io/state"] == "running"
            assert ada["metadata"]["ownerReferences"][0]["uid"] == SPEC.owner_pod["uid"]
            [secret] = await api.owned("Secret", owner="ada")
            assert base64.b64decode(secret["data"]["key.pem"]).decode() == credentials.key

            for kind, name in (("DaskAutoscaler", SPEC.name), ("DaskCluster", SPEC.name),
                               ("Secret", f"{SPEC.name}-tls")):
                await api.delete(kind, name)
            assert [c["metadata"]["name"] for c in await api.owned("DaskCluster")] == \
                [other.name]
            assert await api.owned("DaskAutoscaler") == []

    asyncio.run(scenario())
