"""Pure builders of the dask-kubernetes operator's resources for one user (cluster mode).

Built on the operator's own :func:`dask_kubernetes.operator.make_cluster_spec`, then confined
the way wisehub's pods are: the owner's label on every pod (the NetworkPolicies of
:mod:`wisehub.hub.kube` open a user's Dask pods to that user only), no service-account token,
not root, no privilege escalation, no capabilities, bounded resources, and the user pod's own
image, so versions cannot drift. The compute service applies them; nothing here needs a
cluster.

>>> spec = dask_cluster("ada", "ada-1", image="ghcr.io/wisehub/singleuser:0.1.0", workers=2)
>>> spec["spec"]["worker"]["metadata"]["labels"]["wisehub.org/owner"], spec["spec"]["idleTimeout"]
('ada', 1800)
"""

from __future__ import annotations

import copy
from typing import Any

from wisehub.hub.kube import owner_label_value
from wisehub.hub.kube_settings import KubeSettings

CONFINED = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _resources(cores: float, memory: str) -> dict[str, dict[str, str]]:
    amount = {"cpu": str(cores), "memory": memory}
    return {"requests": dict(amount), "limits": dict(amount)}


def _confine(pod_spec: dict[str, Any], resources: dict[str, dict[str, str]]) -> dict[str, Any]:
    spec = copy.deepcopy(pod_spec)
    spec["automountServiceAccountToken"] = False
    for container in spec["containers"]:
        container["securityContext"] = dict(CONFINED)
        container["resources"] = copy.deepcopy(resources)
        # The image is read-only; numba compiles the reduction kernels into a writable cache.
        container.setdefault("env", []).append({"name": "NUMBA_CACHE_DIR",
                                                "value": "/tmp/numba-cache"})
    return spec


def dask_cluster(owner: str, name: str, *, image: str, workers: int, cores: float = 1,
                 memory: str = "4Gi", idle_timeout: int = 1800,
                 env: dict[str, str] | None = None,
                 kube: KubeSettings | None = None) -> dict[str, Any]:
    """A ``DaskCluster`` owned by ``owner``: ``workers`` workers of ``cores`` and ``memory``.

    Parameters
    ----------
    owner : the hub user the cluster belongs to (its pods get the owner label).
    name : the DaskCluster's name.
    image : the user pod's own image (``JUPYTER_IMAGE_SPEC``).
    workers, cores, memory : how many workers, and each one's requests (= limits).
    idle_timeout : seconds of idleness after which the operator deletes the cluster.
    env : extra environment for the scheduler and workers (never secrets: use a Secret).
    """
    from dask_kubernetes.operator import make_cluster_spec

    kube = kube or KubeSettings()
    resources = _resources(cores, memory)
    spec = copy.deepcopy(make_cluster_spec(name, image=image, n_workers=workers,
                                           resources=resources, env=env or {},
                                           idle_timeout=idle_timeout))
    labels = {kube.owner_label: owner_label_value(owner),
              "app.kubernetes.io/name": "wisehub", "app.kubernetes.io/component": "dask"}
    spec["metadata"]["labels"] = dict(labels)
    for role in ("scheduler", "worker"):
        part = spec["spec"][role]
        part["metadata"] = {"labels": dict(labels)}
        part["spec"] = _confine(part["spec"], resources)
    return spec


def dask_job(owner: str, name: str, *, image: str, command: list[str], workers: int,
             cores: float = 1, memory: str = "4Gi",
             kube: KubeSettings | None = None) -> dict[str, Any]:
    """A ``DaskJob``: ``command`` runs in a pod of its own next to a cluster like above.

    >>> job = dask_job("ada", "ada-night", image="img:1", command=["python", "run.py"],
    ...                workers=1)
    >>> job["spec"]["job"]["spec"]["automountServiceAccountToken"]
    False
    """
    cluster = dask_cluster(owner, name, image=image, workers=workers, cores=cores,
                           memory=memory, idle_timeout=0, kube=kube)
    runner = {"containers": [{"name": "job", "image": image, "args": command}],
              "restartPolicy": "Never"}
    return {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskJob",
        "metadata": {"name": name, "labels": cluster["metadata"]["labels"]},
        "spec": {
            "job": {"metadata": {"labels": cluster["metadata"]["labels"]},
                    "spec": _confine(runner, _resources(cores, memory))},
            "cluster": {"spec": cluster["spec"]},
        },
    }
