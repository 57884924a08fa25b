"""KubeSpawner, configured by ``wisehub.hub.configure``, spawns a user against a STAND-IN
Kubernetes API server: kmock's stateful emulator (an in-memory store of objects served over
HTTP with list/watch), not a real API server, and no kubelet. KubeSpawner talks to it through
its real client from a real kubeconfig. The test checks the objects that arrive: the pod
(image, profile limits, group volumes, per-user Secret by reference, labels, no token), the
home claim, the user's Secret and Dask NetworkPolicy. It then plays the kubelet's part by
marking the pod running, and checks that ``start()`` returns the pod's address. It stops short
of the hub proxying to a real single-user server in that pod, and of ``stop()`` (kmock's
delete answer does not deserialise as a Pod).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path

import aiohttp
import kmock
import kubernetes_validate
import pytest
import yaml
from helmtools import KUBE_VERSIONS, make_hub_db
from jupyterhub import orm
from sqlalchemy import make_url


def _kubeconfig(path: Path, url: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": url}}],
        "users": [{"name": "kmock", "user": {"token": "stand-in"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "kmock",
                                                  "namespace": "wisehub"}}],
    }))
    return path


async def _spawn_against_kmock(c, db, tmp: Path, monkeypatch) -> dict:
    import kubespawner.spawner as ks
    from kmock._internal import parsing
    from kubernetes_asyncio.client import Configuration
    from kubernetes_asyncio.config import kube_config

    monkeypatch.setattr(parsing, "guess_k8s", _watch_true(parsing.guess_k8s))
    async with Emulator() as api, kmock.Server(api) as server:
        for resource, kind in RESOURCES.items():
            api.resources[resource] = kmock.ResourceInfo(kind=kind, namespaced=True)
        # The real kubeconfig loader, pointed at the stand-in (it read KUBECONFIG at import).
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION",
                            str(_kubeconfig(tmp / "kubeconfig", str(server.url))))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        Configuration.set_default(Configuration())
        pods = {}
        for i, (name, profile) in enumerate(SPAWNS.items()):
            pods[name] = await _spawn_one(c, db, api, server, name, profile, f"10.1.2.{i + 3}")
        found = {kind: {k[2]: dict(o.raw) for k, o in api.objects.items()
                        if k[0].plural == kind and not o.deleted}
                 for kind in ("pods", "persistentvolumeclaims", "secrets", "networkpolicies")}
        for reflector in list(ks.KubeSpawner.reflectors.values()):  # shared per class
            await reflector.stop()
        ks.KubeSpawner.reflectors.clear()
        return {**found, "spawned": pods}


SPAWNS = {"alice": "large", "pupil1": "small"}
"""Who spawns (one after the other, into the same stand-in API server), with which profile."""


async def _spawn_one(c, db, api, server, name: str, profile: str, ip: str) -> tuple[dict, str]:
    """Spawn ``name``; the pod that arrived and the URL ``start()`` returned."""
    import kubespawner.spawner as ks

    orm_user = db.query(orm.User).filter_by(name=name).one()
    spawner = ks.KubeSpawner(config=c, user=SimpleUser(name, orm_user, db), _mock=True,
                             namespace="wisehub")
    spawner.user_options = {"profile": profile}
    await spawner.apply_group_overrides()
    await spawner.run_pre_spawn_hook()
    starting = asyncio.ensure_future(spawner.start())
    pod = await _wait_for(api, "pods", spawner.pod_name)
    # The kubelet's part, through the API as a kubelet does: the pod runs, has an address.
    async with aiohttp.ClientSession() as session:
        done = await session.patch(
            f"{str(server.url).rstrip('/')}/api/v1/namespaces/wisehub/pods/{spawner.pod_name}",
            json={"status": {"phase": "Running", "podIP": ip, "containerStatuses": [
                {"name": "notebook", "ready": True}]}})
        assert done.status == 200
    url = await asyncio.wait_for(starting, 60)
    assert url == f"http://{ip}:8888"  # start() returned the address the "kubelet" gave
    return pod, url


RESOURCES = {"v1/pods": "Pod", "v1/events": "Event", "v1/persistentvolumeclaims":
             "PersistentVolumeClaim", "v1/secrets": "Secret",
             "networking.k8s.io/v1/networkpolicies": "NetworkPolicy"}
"""What the spawn touches; the emulator serves only resources it is told about."""


class Emulator(kmock.KubernetesEmulator):
    """kmock's emulator, gaps closed as the real API server behaves: a created object gets the
    namespace from its URL (KubeSpawner's reflector keys objects by it) and a uid, and a new pod
    is Pending."""

    async def _handle(self, request):
        if request.action == kmock.action.CREATE and request.namespace:
            meta = request.data.setdefault("metadata", {})
            meta["namespace"] = request.namespace
            meta.setdefault("uid", str(uuid.uuid4()))
            if request.resource.plural == "pods":
                request.data.setdefault("status", {"phase": "Pending"})
        return await super()._handle(request)


def _watch_true(guess):
    """The other gap: kubernetes_asyncio sends ``?watch=True``, kmock knows ``watch=true``."""

    def guessed(k8s, method, query):
        return guess(k8s, method, {**query, **({"watch": "true"} if query.get("watch") in (
            "True", "1") else {})})

    return guessed


class SimpleUser:
    """What KubeSpawner reads from a hub user (the ORM user's groups, the hub DB)."""

    def __init__(self, name: str, orm_user, db) -> None:
        self.name, self.id, self.url = name, orm_user.id, f"/user/{name}/"
        self.groups, self.db = orm_user.groups, db


async def _wait_for(api, plural: str, name: str) -> dict:
    for _ in range(600):
        for key, obj in list(api.objects.items()):
            if key[0].plural == plural and key[2] == name:
                return dict(obj.raw)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {plural}/{name} arrived at the stand-in API server")


def _secret_refs(pod: dict) -> set[str]:
    return {e["valueFrom"]["secretKeyRef"]["name"] for c in pod["spec"]["containers"]
            for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


@pytest.fixture(scope="module")
def spawned(hub_config, tmp_path_factory) -> dict:
    """alice and pupil1 spawned, one after the other, against one stand-in API server."""
    c, _ = hub_config
    tmp = tmp_path_factory.mktemp("kmock")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return asyncio.run(_spawn_against_kmock(c, make_hub_db(tmp), tmp, monkeypatch))


def test_spawn_against_stand_in_api_server(spawned):
    got = spawned
    pod, _ = got["spawned"]["alice"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/wisehub/singleuser:0.1.0"
    assert container["resources"]["limits"]["cpu"] in (4, 4.0, "4")  # the large profile
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert pod["metadata"]["labels"]["wisehub.org/owner"] == "alice"
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {"claim-alice", "wisehub-group-lab"}
    assert set(got["persistentvolumeclaims"]) == {"claim-alice", "claim-pupil1"}
    assert set(got["networkpolicies"]) == {"wisehub-dask-alice", "wisehub-dask-pupil1"}


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_each_users_pod_reads_only_their_own_secret_with_their_own_role(spawned, kube_version):
    got = spawned
    assert set(got["secrets"]) == {f"wisehub-user-{name}" for name in SPAWNS}
    for name in SPAWNS:
        pod, _ = got["spawned"][name]
        assert _secret_refs(pod) == {f"wisehub-user-{name}"}  # no one else's Secret
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        ref = env["WISEHUB_LINEAGE_DB_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"wisehub-user-{name}", "key": "WISEHUB_LINEAGE_DB_URL"}
        # The pod knows itself, so the compute service can make it its clusters' owner.
        assert env["WISEHUB_POD_UID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
        assert env["WISEHUB_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        secret = got["secrets"][f"wisehub-user-{name}"]
        kubernetes_validate.validate(secret, kube_version, strict=True)
        kubernetes_validate.validate(pod, kube_version, strict=True)
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert make_url(data["WISEHUB_LINEAGE_DB_URL"]).username == name  # the user's role
        assert data["AWS_ACCESS_KEY_ID"] == f"AK-{name}"
        assert secret["metadata"]["labels"]["wisehub.org/owner"] == name


pytestmark = pytest.mark.timeout(180)
