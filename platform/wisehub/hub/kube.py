"""KubeSpawner configuration for cluster mode: profiles, group volumes, per-user credentials.

Everything here is a pure builder (plain dicts, no cluster needed), except
:class:`UserResources`, the pre-spawn hook that applies two of them through the spawner's own
Kubernetes client:

* profiles offered by hub group (403 when none is left), as KubeSpawner ``profile_list``;
* group workspaces mounted by membership, as ``Spawner.group_overrides``;
* a per-user Secret with the user's own RGW keys and lineage URL (their own PostgreSQL role),
  read only by that user's pod (its environment refers to the Secret by name);
* a per-user NetworkPolicy that opens the user's Dask pods to that user's pods alone.

>>> from wisehub.hub.kube_settings import KubeSettings
>>> policy = owner_dask_policy("ada", KubeSettings())
>>> policy["spec"]["podSelector"]["matchLabels"]
{'wisehub.org/owner': 'ada'}
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import make_url
from tornado import web

from wisehub.compute.settings import POD_NAME_ENV, POD_UID_ENV
from wisehub.config import Settings
from wisehub.hub.credentials import ACCESS_KEY_ENV, LINEAGE_URL_ENV, SECRET_KEY_ENV
from wisehub.hub.kube_settings import KubeSettings
from wisehub.hub.profiles import offered
from wisehub.hub.settings import Profile
from wisehub.storage.credentials import S3Credentials

DASK_SELECTOR = {"key": "dask.org/component", "operator": "Exists"}
"""The dask-kubernetes operator labels every scheduler and worker pod with its component."""


def owner_label_value(username: str) -> str:
    """The owner label's value for ``username``: KubeSpawner's safe slug, as in ``{username}``.

    >>> owner_label_value("ada"), owner_label_value("Ada Lovelace") != "Ada Lovelace"
    ('ada', True)
    """
    from kubespawner.slugs import safe_slug

    return safe_slug(username, max_length=48)


def _user_groups(spawner: Any) -> list[str]:
    return sorted(g.name for g in spawner.user.groups)


def profile_list(profiles: list[Profile]) -> Callable[[Any], list[dict]]:
    """A KubeSpawner ``profile_list`` callable: the profiles this user's groups may pick.

    KubeSpawner refuses a slug that is not in the list it was given, so a non-member cannot
    force a restricted profile; with no profile left it would spawn with no limits at all, so
    the callable answers 403 instead.

    >>> from types import SimpleNamespace
    >>> from wisehub.hub.settings import HubSettings
    >>> user = SimpleNamespace(groups=[SimpleNamespace(name="lab")])
    >>> [p["slug"] for p in profile_list(HubSettings().profiles)(SimpleNamespace(user=user))]
    ['small', 'medium', 'large']
    """

    def listed(spawner: Any) -> list[dict]:
        mine = offered(profiles, _user_groups(spawner))
        if not mine:
            raise web.HTTPError(403, "no server profile is offered to your groups; ask an admin")
        return [profile_entry(p, default=i == 0) for i, p in enumerate(mine)]

    return listed


def profile_entry(profile: Profile, default: bool = False) -> dict[str, Any]:
    """One KubeSpawner profile: limits equal guarantees' ceiling, Dask sized to the profile.

    >>> from wisehub.hub.settings import HubSettings
    >>> profile_entry(HubSettings().profiles[0])["kubespawner_override"]["mem_limit"]
    '2G'
    """
    return {
        "slug": profile.slug,
        "display_name": profile.display_name,
        "description": profile.description,
        "default": default,
        "kubespawner_override": {
            "cpu_limit": profile.cpu,
            "cpu_guarantee": profile.cpu / 2,
            "mem_limit": profile.memory,
            "mem_guarantee": profile.memory,
            "environment": {
                "WISEHUB_PROFILE": profile.slug,
                "WISEHUB_DASK_WORKERS": str(profile.dask_workers),
            },
        },
    }


def group_volumes(kube: KubeSettings) -> Callable[[Any], dict[str, dict]]:
    """A ``Spawner.group_overrides`` callable: each of the user's groups mounts its workspace.

    Volumes and mounts are dicts keyed by name, so the overrides of several groups add up.

    >>> from types import SimpleNamespace
    >>> user = SimpleNamespace(groups=[SimpleNamespace(name="lab")])
    >>> o = group_volumes(KubeSettings())(SimpleNamespace(user=user))
    >>> o["50-workspace-lab"]["spawner_override"]["volume_mounts"]["group-lab"]["mountPath"]
    '/home/jovyan/shared/lab'
    """

    def overrides(spawner: Any) -> dict[str, dict]:
        return {f"50-workspace-{group}": {"groups": [group], "spawner_override": {
            "volumes": {f"group-{group}": {
                "name": f"group-{group}",
                "persistentVolumeClaim": {"claimName": kube.workspace_claim(group)}}},
            "volume_mounts": {f"group-{group}": _workspace_mount(kube, group)},
        }} for group in _user_groups(spawner)}

    return overrides


def _workspace_mount(kube: KubeSettings, group: str) -> dict[str, str]:
    mount = {"name": f"group-{group}", "mountPath": kube.workspace_mount(group)}
    if kube.workspace_layout == "subPath":
        mount["subPath"] = group
    return mount


@dataclass(frozen=True)
class UserCredentials:
    """What one user's pod may use to reach the stores as that user (and no one else)."""

    s3: S3Credentials | None = None
    lineage_url: str | None = None
    """The lineage database URL logging in as the user's role (password included)."""

    def __repr__(self) -> str:
        role = make_url(self.lineage_url).username if self.lineage_url else None
        return f"UserCredentials(s3={self.s3!r}, lineage_role={role!r})"

    def env(self) -> dict[str, str]:
        """The variables these credentials become in the pod (what the catalogue templates).

        >>> sorted(UserCredentials(lineage_url="postgresql+psycopg://ada:pw@db/lineage").env())
        ['WISEHUB_LINEAGE_DB_URL']
        """
        values: dict[str, str | None] = {LINEAGE_URL_ENV: self.lineage_url}
        if self.s3 is not None:
            for access, secret in (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
                                   (ACCESS_KEY_ENV, SECRET_KEY_ENV)):
                values[access] = self.s3.access_key
                values[secret] = self.s3.secret_key
        return {k: v for k, v in values.items() if v}


def user_secret(username: str, credentials: UserCredentials, kube: KubeSettings) -> dict:
    """The per-user Secret manifest holding ``credentials`` (base64, as the API wants).

    >>> s = user_secret("ada", UserCredentials(S3Credentials("AK", "sk")), KubeSettings())
    >>> s["metadata"]["name"], sorted(s["data"])[:2]
    ('wisehub-user-ada', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
    """
    owner = owner_label_value(username)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": kube.user_secret_template.format(username=owner),
            "labels": {kube.owner_label: owner, "app.kubernetes.io/name": "wisehub",
                       "app.kubernetes.io/component": "user-credentials"},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in credentials.env().items()},
    }


def secret_environment(secret: dict) -> dict[str, dict]:
    """KubeSpawner ``environment`` entries that read every key of ``secret`` by reference.

    The values never enter the hub's config or the pod spec; the kubelet resolves them.

    >>> creds = UserCredentials(lineage_url="postgresql+psycopg://ada:pw@db/lineage")
    >>> env = secret_environment(user_secret("ada", creds, KubeSettings()))
    >>> env["WISEHUB_LINEAGE_DB_URL"]["valueFrom"]["secretKeyRef"]
    {'name': 'wisehub-user-ada', 'key': 'WISEHUB_LINEAGE_DB_URL'}
    """
    name = secret["metadata"]["name"]
    return {key: {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
            for key in secret["data"]}


def owner_dask_policy(username: str, kube: KubeSettings) -> dict:
    """The NetworkPolicy that opens ``username``'s Dask pods to that user's own pods only.

    The chart's ``wisehub-dask`` policy closes every Dask pod to all but the compute service;
    policies add up, so this one admits the owner's server and the owner's other Dask pods.

    >>> owner_dask_policy("ada", KubeSettings())["spec"]["ingress"][0]["from"]
    [{'podSelector': {'matchLabels': {'wisehub.org/owner': 'ada'}}}]
    """
    owner = owner_label_value(username)
    mine = {kube.owner_label: owner}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"wisehub-dask-{owner}",
                     "labels": {**mine, "app.kubernetes.io/name": "wisehub",
                                "app.kubernetes.io/component": "network"}},
        "spec": {
            "podSelector": {"matchLabels": mine, "matchExpressions": [DASK_SELECTOR]},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": mine}}]}],
        },
    }


CredentialSource = Callable[[str, dict[str, Any]], UserCredentials]
"""Given a user name and every hub user's :class:`~wisehub.storage.policy.Membership`, that
user's credentials (blocking calls allowed: it runs in a thread)."""


@dataclass(frozen=True)
class UserResources:
    """A KubeSpawner ``pre_spawn_hook``: the user's Secret and Dask policy, then the env.

    Both objects are created, or replaced when they exist, in the spawner's namespace through
    its own API client, so the hub's service account needs only ``secrets`` and
    ``networkpolicies`` rights (the chart's ``wisehub-hub`` Role).

    :func:`configure_kubespawner` installs it::

        c.KubeSpawner.pre_spawn_hook = UserResources(
            KubeSettings(), StoreCredentials(settings), pod_environment(settings))
    """

    kube: KubeSettings
    credentials: CredentialSource
    extra_env: dict[str, str]

    async def __call__(self, spawner: Any) -> None:
        from wisehub.hub.credentials import hub_members

        name = spawner.user.name
        members = hub_members(spawner.user.db)  # in the hub's thread
        creds = await asyncio.to_thread(self.credentials, name, members)
        secret = user_secret(name, creds, self.kube)
        await apply(spawner, "secret", secret)
        await apply(spawner, "network_policy", owner_dask_policy(name, self.kube))
        plain = {**spawner.environment, **self.extra_env}
        spawner.environment = {**literal(plain), **secret_environment(secret),
                               **POD_IDENTITY}


POD_IDENTITY = {env: {"name": env, "valueFrom": {"fieldRef": {"fieldPath": field}}}
                for env, field in ((POD_NAME_ENV, "metadata.name"), (POD_UID_ENV, "metadata.uid"))}
"""The pod's own name and uid from the downward API: the compute service makes them the owner
of the user's Dask clusters, so Kubernetes removes the clusters with the pod."""


def literal(env: dict[str, Any]) -> dict[str, Any]:
    """Env values KubeSpawner must not expand: it formats every value with user properties,
    which would break templates meant for others (Dask's dashboard link holds ``{port}``).

    >>> literal({"LINK": "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"})["LINK"]
    '{{JUPYTERHUB_SERVICE_PREFIX}}proxy/{{port}}/status'
    """
    return {k: v.replace("{", "{{").replace("}", "}}") if isinstance(v, str) else v
            for k, v in env.items()}


async def apply(spawner: Any, kind: str, manifest: dict) -> None:
    """Create ``manifest`` in the spawner's namespace, or replace it if it exists.

    In a pre-spawn hook::

        await apply(spawner, "secret", user_secret("ada", creds, kube))
    """
    from kubernetes_asyncio import client
    from kubernetes_asyncio.client.rest import ApiException

    api: Any = spawner.api
    if kind == "network_policy":
        api = client.NetworkingV1Api(spawner.api.api_client)
    namespace, name = spawner.namespace, manifest["metadata"]["name"]
    try:
        await getattr(api, f"create_namespaced_{kind}")(namespace, manifest)
    except ApiException as err:
        if err.status != 409:
            raise
        await getattr(api, f"replace_namespaced_{kind}")(name, namespace, manifest)


@dataclass(frozen=True)
class StoreCredentials:
    """A :data:`CredentialSource`: the user's own RGW key and PostgreSQL role, made if missing.

    The same provisioning as local mode's pre-spawn hook
    (:func:`wisehub.hub.credentials.user_credentials`): the RGW user and key, with the bucket
    policy brought up to date with every hub user's groups, and the login role with the
    user's current groups and a new password; here they go into the user's Secret.

    With PostgreSQL and RGW configured the result holds the user's key and role URL. A
    SQLite store (single-user trust) and no RGW admin give neither:

    >>> import tempfile
    >>> from wisehub.storage.policy import Membership
    >>> single = Settings(data_dir=tempfile.mkdtemp())
    >>> StoreCredentials(single)("ada", {"ada": Membership(groups=["lab"])})
    UserCredentials(s3=None, lineage_role=None)
    """

    settings: Settings

    def __call__(self, username: str, members: dict[str, Any]) -> UserCredentials:
        from wisehub.hub.credentials import user_credentials
        from wisehub.storage.policy import Membership

        env = user_credentials(self.settings, username, {username: Membership(), **members})
        access, secret = env.get(ACCESS_KEY_ENV), env.get(SECRET_KEY_ENV)
        return UserCredentials(s3=S3Credentials(access, secret) if access and secret else None,
                               lineage_url=env.get(LINEAGE_URL_ENV))


def configure_kubespawner(c: Any, settings: Settings) -> None:
    """Configure KubeSpawner on ``c``: profiles, homes, workspaces, credentials, no token.

    >>> from traitlets.config import Config
    >>> c = Config()
    >>> configure_kubespawner(c, Settings(mode="cluster", hub={"spawner": "kubernetes"}))
    >>> c.KubeSpawner.automount_service_account_token
    False
    >>> type(c.KubeSpawner.pre_spawn_hook.credentials).__name__  # RGW key and database role
    'StoreCredentials'
    """
    hub, kube = settings.hub, settings.hub.kubernetes
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    spawner = c.KubeSpawner
    spawner.profile_list = profile_list(hub.profiles)
    spawner.group_overrides = group_volumes(kube)
    # Users never hold cluster credentials: the compute service acts for them.
    spawner.automount_service_account_token = False
    spawner.extra_labels = {**spawner.get("extra_labels", {}), kube.owner_label: "{username}"}
    spawner.start_timeout = hub.start_timeout
    spawner.http_timeout = hub.start_timeout
    spawner.default_url = "/lab"
    spawner.uid, spawner.gid, spawner.fs_gid = kube.uid, kube.uid, kube.fs_gid
    spawner.allow_privilege_escalation = False
    spawner.container_security_context = {
        "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}}
    # The home: one claim per user, made by KubeSpawner before the pod.
    spawner.storage_pvc_ensure = True
    spawner.pvc_name_template = kube.home_claim_template
    spawner.storage_class = kube.home_storage_class
    spawner.storage_capacity = kube.home_size
    spawner.storage_access_modes = ["ReadWriteOnce"]
    volumes = {"home": {"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    mounts = {"home": {"name": "home", "mountPath": kube.home_mount_path}}
    if kube.catalog_configmap:
        volumes["catalogs"] = {"name": "catalogs",
                               "configMap": {"name": kube.catalog_configmap}}
        mounts["catalogs"] = {"name": "catalogs", "readOnly": True,
                              "mountPath": str(settings.catalog_path.parent)}
    spawner.volumes, spawner.volume_mounts = volumes, mounts
    spawner.pre_spawn_hook = UserResources(kube, StoreCredentials(settings),
                                           pod_environment(settings))


def pod_environment(settings: Settings) -> dict[str, str]:
    """Plain (non-secret) variables a user pod needs besides ``Settings.environment()``.

    >>> env = pod_environment(Settings(storage="s3", s3={"endpoint_url": "https://s3.example.org"}))
    >>> env["S3_ENDPOINT_URL"], env["NUMBA_CACHE_DIR"]
    ('https://s3.example.org', '/tmp/numba-cache')
    """
    env = {}
    if settings.s3.endpoint_url:  # what the catalogue's {env(...)} templates read
        env["S3_ENDPOINT_URL"] = settings.s3.endpoint_url
        env["WISEHUB_S3_BUCKET"] = settings.s3.bucket
    # The image is read-only; numba compiles into a writable cache.
    env["NUMBA_CACHE_DIR"] = "/tmp/numba-cache"
    return env
