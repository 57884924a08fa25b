"""The user pods and home claims KubeSpawner builds from ``wisehub.hub.configure``, offline.

The hub config is made exactly as in the hub pod (``configure(c, load_settings(...))`` on the
settings the chart renders), plus the image z2jh's own config sets from ``singleuser.image``.
KubeSpawner then builds each profile's pod and PVC without a cluster (``load_config`` is
replaced by a no-op, see shared/notes/upstream-facts.md). The pre-spawn hook runs against a
**recording stand-in** for the Kubernetes API (it keeps what the hook creates; it is not an API
server, and nothing here is a live-cluster test), with fixed stand-in credentials instead of
RGW's.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
from helmtools import KUBE_VERSIONS, USERS, make_hub_db
from jupyterhub import orm
from tornado import web
from traitlets.config import Config
from wisehub.hub.kube import profile_list
from wisehub.hub.settings import Profile


class RecordingApi:
    """Stand-in for KubeSpawner's CoreV1Api / NetworkingV1Api: records created objects."""

    def __init__(self) -> None:
        self.created: dict[tuple[str, str], dict] = {}
        self.api_client = None

    def __getattr__(self, name: str) -> Any:
        kind = name.removeprefix("create_namespaced_")

        async def create(namespace: str, body: dict) -> dict:
            self.created[(kind, body["metadata"]["name"])] = body
            return body

        return create


async def _spawn(c: Config, db: Any, name: str, profile: str | None,
                 monkeypatch: pytest.MonkeyPatch):
    import kubernetes_asyncio.client as k8s
    import kubespawner.spawner as ks

    monkeypatch.setattr(ks, "load_config", lambda **_: None)
    orm_user = db.query(orm.User).filter_by(name=name).one()
    user = SimpleNamespace(name=name, id=orm_user.id, url=f"/user/{name}/",
                           groups=orm_user.groups, db=db)
    spawner = ks.KubeSpawner(config=c, user=user, _mock=True)
    spawner.api = RecordingApi()
    monkeypatch.setattr(k8s, "NetworkingV1Api", lambda _client: spawner.api)
    await spawner.apply_group_overrides()
    spawner.user_options = {"profile": profile} if profile else {}
    await spawner.load_user_options()
    await spawner.run_pre_spawn_hook()
    pod = k8s.ApiClient().sanitize_for_serialization(await spawner.get_pod_manifest())
    pvc = k8s.ApiClient().sanitize_for_serialization(spawner.get_pvc_manifest())
    return spawner, pod, pvc


CASES = [("alice", "small"), ("alice", "medium"), ("alice", "large"), ("pupil1", "small"),
         ("pupil1", "medium")]


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_user_pod_and_home_claim_are_valid_and_confined(hub_config, tmp_path, monkeypatch,
                                                        name: str, profile: str):
    c, ctx = hub_config
    _, pod, pvc = asyncio.run(_spawn(c, make_hub_db(tmp_path), name, profile, monkeypatch))
    for version in KUBE_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)
        kubernetes_validate.validate(pvc, version, strict=True)
    spec = pod["spec"]
    container = spec["containers"][0]
    wanted = next(p for p in ctx["settings"].hub.profiles if p.slug == profile)
    assert container["image"] == "ghcr.io/wisehub/singleuser:0.1.0"
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    memory = int(wanted.memory[:-1]) * units[wanted.memory[-1]]
    assert int(container["resources"]["limits"]["memory"]) == memory  # KubeSpawner: bytes
    assert float(container["resources"]["limits"]["cpu"]) == wanted.cpu
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert spec["automountServiceAccountToken"] is False
    sec = container["securityContext"]
    assert sec["runAsNonRoot"] and sec["allowPrivilegeEscalation"] is False
    assert sec["capabilities"]["drop"] == ["ALL"] and sec["runAsUser"] == 1000
    assert not [v for v in spec["volumes"] if "hostPath" in v]
    assert pod["metadata"]["labels"]["wisehub.org/owner"] == name
    assert pod["metadata"]["labels"]["component"] == "singleuser-server"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/home/jovyan"]["name"] == "home"
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims["home"] == pvc["metadata"]["name"] == f"claim-{name}"
    group = USERS[name][0]
    other = {"lab": "astro101", "astro101": "lab"}[group]
    assert claims[f"group-{group}"] == f"wisehub-group-{group}"
    assert f"/home/jovyan/shared/{group}" in mounts
    assert f"/home/jovyan/shared/{other}" not in mounts and f"group-{other}" not in claims
    assert mounts["/etc/wisehub/catalogs"]["readOnly"] is True
    assert pvc["spec"]["storageClassName"] == "wisehub-home"


def test_per_user_secret_reaches_only_that_users_pod(hub_config, tmp_path, monkeypatch):
    c, _ = hub_config
    db = make_hub_db(tmp_path)
    alice, alice_pod, _ = asyncio.run(_spawn(c, db, "alice", "small", monkeypatch))
    _, pupil_pod, _ = asyncio.run(_spawn(c, db, "pupil1", "small", monkeypatch))
    secret = alice.api.created[("secret", "wisehub-user-alice")]
    policy = alice.api.created[("network_policy", "wisehub-dask-alice")]
    kubernetes_validate.validate(secret, KUBE_VERSIONS[-1], strict=True)
    kubernetes_validate.validate(policy, KUBE_VERSIONS[-1], strict=True)
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WISEHUB_LINEAGE_DB_URL"} <= set(
        secret["data"])

    def secret_refs(pod: dict) -> set[str]:
        env = pod["spec"]["containers"][0]["env"]
        return {e["valueFrom"]["secretKeyRef"]["name"] for e in env
                if "secretKeyRef" in e.get("valueFrom", {})}

    assert secret_refs(alice_pod) == {"wisehub-user-alice"}
    assert secret_refs(pupil_pod) == {"wisehub-user-pupil1"}
    env = {e["name"]: e for e in alice_pod["spec"]["containers"][0]["env"]}
    for key in ("AWS_SECRET_ACCESS_KEY", "WISEHUB_LINEAGE_DB_URL"):  # not the owner's URL
        assert "value" not in env[key]  # by reference, never in the pod spec
    assert env["S3_ENDPOINT_URL"]["value"] == "https://s3.example.org"
    assert "sk" not in str(alice_pod)


def test_a_profile_of_other_groups_is_refused(hub_config, tmp_path, monkeypatch):
    c, _ = hub_config
    with pytest.raises(ValueError, match="large"):  # not offered to the class
        asyncio.run(_spawn(c, make_hub_db(tmp_path), "pupil1", "large", monkeypatch))


def test_no_profile_left_answers_403(hub_config, tmp_path, monkeypatch):
    c, _ = hub_config
    only_lab = Config(c)
    only_lab.KubeSpawner.profile_list = profile_list(
        [Profile(slug="lab", display_name="Lab", groups=["lab"])])
    db = make_hub_db(tmp_path)
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(_spawn(only_lab, db, "nobody", None, monkeypatch))
    assert refused.value.status_code == 403
    _, pod, _ = asyncio.run(_spawn(only_lab, db, "alice", None, monkeypatch))
    assert pod["metadata"]["labels"]["wisehub.org/owner"] == "alice"
