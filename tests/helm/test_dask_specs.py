"""The Dask resources users get are valid for the operator's CRDs, and their pods for Kubernetes.

The resources are the ones the product sends: the compute service's DaskCluster
(:mod:`wisehub.compute.kubernetes`) and a batch job's DaskJob (:mod:`wisehub.batch.kube`).

``kubernetes-validate`` skips custom resources, so each DaskCluster/DaskJob is validated with
jsonschema against the operator's resolved CRD (shared/reference/dask-operator-crds), and each
pod spec inside it is wrapped in a v1 Pod and validated strictly.
"""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helmtools import KUBE_VERSIONS, REFERENCE
from netpol import Endpoint, can_connect
from wisehub.batch.kube import daskjob
from wisehub.batch.state import JobRecord
from wisehub.compute.kubernetes import ClusterSpec, cluster_manifest
from wisehub.hub.kube import owner_dask_policy
from wisehub.hub.kube_settings import KubeSettings

IMAGE = "ghcr.io/wisehub/singleuser:0.1.0"


def crd_schema(kind: str) -> dict:
    crd = yaml.safe_load((REFERENCE / "dask-operator-crds" / f"{kind}.yaml").read_text())
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"][
        "openAPIV3Schema"]


def pod_specs(resource: dict) -> dict[str, dict]:
    if resource["kind"] == "DaskJob":
        return {"job": resource["spec"]["job"]["spec"],
                **pod_specs({"kind": "DaskCluster", "spec": resource["spec"]["cluster"]["spec"]})}
    return {role: resource["spec"][role]["spec"] for role in ("scheduler", "worker")}


RESOURCES = {
    "cluster": cluster_manifest(ClusterSpec("alice-1", "alice", IMAGE, workers=4,
                                            worker_cores=2, worker_memory=8 * 2**30)),
    "job": daskjob(JobRecord.new("alice", kind="function", target="pipeline.nightly:reduce",
                                 workers=2, wall_time=3600), image=IMAGE, job_dir="/home/alice/j"),
}


@pytest.mark.parametrize("which", RESOURCES)
def test_valid_for_the_operator_crd(which: str):
    resource = RESOURCES[which]
    jsonschema.validate(resource, crd_schema(resource["kind"].lower()))


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("which", RESOURCES)
def test_every_dask_pod_is_valid_and_confined(which: str, kube_version: str):
    for role, spec in pod_specs(RESOURCES[which]).items():
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"x-{role}"},
               "spec": spec}
        kubernetes_validate.validate(pod, kube_version, strict=True)
        assert spec["automountServiceAccountToken"] is False, role
        assert spec["securityContext"]["runAsNonRoot"], role  # "restricted" pod security
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, role
        for container in spec["containers"]:
            sec = container["securityContext"]
            assert sec["allowPrivilegeEscalation"] is False, role
            assert sec["capabilities"]["drop"] == ["ALL"], role
            assert set(container["resources"]) == {"requests", "limits"}, role
            assert container["image"] == IMAGE  # the user's own image: versions match
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v]


def test_the_owner_label_lets_only_the_owner_in():
    cluster = RESOURCES["cluster"]
    labels = {**cluster["spec"]["scheduler"]["metadata"]["labels"],
              "dask.org/component": "scheduler"}  # the operator adds the component
    scheduler = Endpoint("alice's scheduler", labels)
    kube = KubeSettings()
    alice = Endpoint("alice", {kube.owner_label: "alice", "component": "singleuser-server"})
    bob = Endpoint("bob", {kube.owner_label: "bob", "component": "singleuser-server"})
    closed = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "closed"},
              "spec": {"podSelector": {"matchExpressions": [
                  {"key": "dask.org/component", "operator": "Exists"}]},
                  "policyTypes": ["Ingress"], "ingress": []}}
    policies = [closed, owner_dask_policy("alice", kube), owner_dask_policy("bob", kube)]
    assert can_connect(policies, alice, scheduler, 8786)
    assert not can_connect(policies, bob, scheduler, 8786)
