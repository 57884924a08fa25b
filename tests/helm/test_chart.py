"""The chart lints, renders, and every object it renders is valid Kubernetes (real helm).

Renders use stand-in dependency charts (tests/helm/helmtools.py says exactly how): our templates
are rendered in full; z2jh's and the dask operator's own templates are not.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helmtools import (
    CHART,
    EXAMPLES,
    KUBE_VERSIONS,
    REFERENCE,
    helm,
    pod_labels,
    pod_specs,
    render,
    settings_file,
    z2jh_schema,
)
from wisehub.config import load_settings

ALL_VALUES = ["default", *(p.stem for p in EXAMPLES)]


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("values", [None, *EXAMPLES], ids=["default", *(p.stem for p in EXAMPLES)])
def test_helm_lint_passes(chart: Path, values: Path | None):
    args = ["lint", str(chart), "--strict", "--kube-version", KUBE_VERSIONS[0]]
    if values:
        args += ["--values", str(values)]
    done = helm(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


def test_an_openstack_example_ships_with_the_chart():
    assert [p.name for p in EXAMPLES] == ["openstack.yaml"]


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", ALL_VALUES)
def test_every_rendered_object_is_valid_kubernetes(rendered, values: str, kube_version: str):
    objects = rendered[values]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "StatefulSet", "CronJob", "NetworkPolicy", "ConfigMap",
            "StorageClass", "PersistentVolumeClaim", "Role", "RoleBinding", "ServiceAccount",
            "Service", "PodDisruptionBudget", "ResourceQuota"} <= kinds
    for obj in objects:
        kubernetes_validate.validate(obj, kube_version, strict=True)


def test_openstack_example_renders_ingress_tls_and_placeholders(rendered):
    objects = rendered["openstack"]
    ingress = by_kind(objects, "Ingress")["wisehub"]
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]
    assert by_kind(objects, "Deployment")["wisehub-placeholder"]["spec"]["replicas"] == 30
    assert by_kind(objects, "PriorityClass")["wisehub-placeholder"]["value"] < 0


@pytest.mark.parametrize(("setting", "complaint"), [
    ("compute.replicas=0", "compute.replicas"),
    ("compute.replicas=2", "compute.replicas"),  # its clusters live in one process
    ("storage.workspaces.layout=everyone", "storage.workspaces.layout"),
    ("images.hub.tag=latest", "images.hub.tag"),
    ("s3.endpointUrl=s3.example.org", "s3.endpointUrl"),
    ("lineageDb.resources.limits=null", "lineageDb.resources"),
    ("jupyterhub.singleuser.nonsense=1", "nonsense"),  # refused by z2jh's own schema
])
def test_helm_refuses_bad_values_before_rendering(chart: Path, setting: str, complaint: str):
    with pytest.raises(RuntimeError, match="schema") as refused:
        render(chart, sets=(setting,))
    assert complaint.split(".")[-1] in str(refused.value)


@pytest.mark.parametrize("values", [CHART / "values.yaml", *EXAMPLES], ids=ALL_VALUES)
def test_jupyterhub_values_validate_against_z2jh_schema(values: Path):
    # As helm merges them: z2jh's defaults, our chart's defaults, then the values file.
    z2jh = yaml.safe_load((REFERENCE / "z2jh" / "values.yaml").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["jupyterhub"]
    ours = yaml.safe_load(values.read_text()).get("jupyterhub", {})
    merged = _merge(_merge(z2jh, defaults), ours)
    jsonschema.validate(merged, z2jh_schema())
    config = merged["hub"]["extraConfig"]["wisehub"]
    assert "configure(c, load_settings(" in config  # the same function as local mode
    compile(config, "extraConfig", "exec")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(
            base.get(key), dict) else value
    return out


@pytest.mark.parametrize("values", ALL_VALUES)
def test_hub_settings_from_the_chart_are_valid_wisehub_settings(rendered, values: str,
                                                                tmp_path: Path):
    loaded = load_settings(settings_file(rendered[values], tmp_path))
    assert (loaded.mode, loaded.storage, loaded.hub.spawner) == ("cluster", "s3", "kubernetes")
    assert str(loaded.catalog_path).startswith("/etc/wisehub/catalogs/")


def test_catalogue_configmap_holds_the_packaged_catalogues_and_operator_entries(chart: Path,
                                                                                tmp_path: Path):
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"catalog": {
        "extraData": {"survey": {"datatype": "intake.readers.datatypes:Zarr",
                                 "kwargs": {"url": "s3://wisehub/world/survey.zarr"}}},
        "extraEntries": {"survey": {"reader": "intake.readers.readers:XArrayDatasetReader",
                                    "kwargs": {"args": ["{data(survey)}"], "engine": "zarr"}}},
    }}))
    data = by_kind(render(chart, extra), "ConfigMap")["wisehub-catalogs"]["data"]
    packaged = load_settings().catalog_path.parent
    files = {p.name: p.read_text() for p in packaged.glob("*.yaml")}
    assert set(data) == set(files)
    for name, text in files.items():
        if name != "wisehub.yaml":
            assert data[name] == text  # verbatim
    root = yaml.safe_load(data["wisehub.yaml"])
    original = yaml.safe_load(files["wisehub.yaml"])
    assert set(root["entries"]) == {*original["entries"], "survey"}
    assert root["data"]["survey"]["kwargs"]["url"].endswith("survey.zarr")


# ---- policy checks over everything the chart runs -------------------------------------------

def workloads(objects: list[dict]) -> list[tuple[str, dict, dict]]:
    return [(f"{o['kind']}/{o['metadata']['name']}", spec, pod_labels(o))
            for o in objects for spec in pod_specs(o)]


@pytest.mark.parametrize("values", ALL_VALUES)
def test_every_container_is_confined_and_bounded(rendered, values: str):
    found = workloads(rendered[values])
    assert len(found) >= 3
    for name, spec, _ in found:
        for container in spec.get("initContainers", []) + spec["containers"]:
            sec = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert sec["runAsNonRoot"] is True, where
            assert sec["allowPrivilegeEscalation"] is False, where
            assert sec["capabilities"]["drop"] == ["ALL"], where
            assert sec["readOnlyRootFilesystem"] is True, where
            assert not sec.get("privileged"), where
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name


@pytest.mark.parametrize("values", ALL_VALUES)
def test_only_the_compute_service_gets_an_api_token(rendered, values: str):
    for name, spec, _ in workloads(rendered[values]):
        if name == "Deployment/wisehub-compute":
            assert spec["serviceAccountName"] == "wisehub-compute"
        else:
            assert spec["automountServiceAccountToken"] is False, name


def test_hub_role_covers_what_its_pre_spawn_hook_does(rendered):
    rules = by_kind(rendered["default"], "Role")["wisehub-hub"]["rules"]
    granted = {(res, verb) for r in rules for res in r["resources"] for verb in r["verbs"]}
    # wisehub.hub.kube.apply: create, or replace (verb "update") when it exists
    assert {(res, verb) for res in ("secrets", "networkpolicies")
            for verb in ("create", "update")} <= granted
    binding = by_kind(rendered["default"], "RoleBinding")["wisehub-hub"]
    assert binding["subjects"][0]["name"] == "hub"  # z2jh's hub service account


def test_compute_role_grants_rights_on_dask_resources_only(rendered):
    role = by_kind(rendered["default"], "Role")["wisehub-compute"]
    granted = {(group, res, verb) for r in role["rules"] for group in r["apiGroups"]
               for res in r["resources"] for verb in r["verbs"]}
    # wisehub.compute.kubebackend: DaskClusters and DaskAutoscalers (create, patch sizes,
    # list its own after a restart, delete) and each cluster's TLS Secret (never changed).
    dask = {("kubernetes.dask.org", res, verb) for res in ("daskclusters", "daskautoscalers")
            for verb in ("get", "list", "create", "patch", "delete")}
    tls = {("", "secrets", verb) for verb in ("get", "list", "create", "delete")}
    assert granted == dask | tls
    binding = by_kind(rendered["default"], "RoleBinding")["wisehub-compute"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "wisehub-compute",
                                    "namespace": "wisehub"}]


def _compute_env(objects: list[dict]) -> dict[str, dict]:
    deployment = by_kind(objects, "Deployment")["wisehub-compute"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container["env"]}


@pytest.mark.parametrize("values", [CHART / "values.yaml", *EXAMPLES], ids=ALL_VALUES)
def test_compute_service_runs_the_kubernetes_backend_with_the_user_image(rendered,
                                                                         values: Path):
    from wisehub.compute.settings import CONFIG_ENV, STATE_ENV, ComputeSettings
    from wisehub.hub.kube_settings import KubeSettings

    env = _compute_env(rendered["default" if values.name == "values.yaml" else values.stem])
    config = json.loads(env[CONFIG_ENV]["value"])
    # The whole config is what the service's settings model accepts.
    settings = ComputeSettings.model_validate(config)
    assert settings.backend == "kubernetes"
    assert settings.kubernetes.image == config["kubernetes"]["image"]
    kube = config["kubernetes"]
    image = yaml.safe_load(values.read_text()).get("jupyterhub", {}).get("singleuser", {}).get(
        "image") or yaml.safe_load((CHART / "values.yaml").read_text())["jupyterhub"][
        "singleuser"]["image"]
    assert kube == {
        "api_url": "https://kubernetes.default.svc",  # TLS: the service account's CA
        "service_account_dir": "/var/run/secrets/kubernetes.io/serviceaccount",
        "namespace": "wisehub",
        "image": f"{image['name']}:{image['tag']}",  # workers run the users' image
        "credentials_secret_template": KubeSettings().user_secret_template,
    }
    assert env[STATE_ENV]["value"] == "/var/lib/wisehub-compute"
    # It needs no platform credentials: no database owner, no RGW owner key.
    assert not {"PGPASSWORD", "PGUSER", "WISEHUB_S3__SECRET_KEY"} & set(env)


def test_compute_settings_from_values_reach_the_service(chart: Path):
    objects = render(chart, sets=("settings.compute.limits.workers=12",
                                  "settings.hub.kubernetes.user_secret_template=creds-{username}"))
    config = json.loads(_compute_env(objects)["WISEHUB_COMPUTE_CONFIG"]["value"])
    assert config["limits"] == {"idle_timeout": 1800, "workers": 12}
    assert config["kubernetes"]["credentials_secret_template"] == "creds-{username}"


@pytest.mark.parametrize("values", ALL_VALUES)
def test_every_pod_role_has_a_network_policy(rendered, values: str):
    from netpol import selects

    objects = rendered[values]
    policies = list(by_kind(objects, "NetworkPolicy").values())
    roles = {name: labels for name, _, labels in workloads(objects)}
    # Pods the chart does not render itself but whose policies it owns:
    roles["user server"] = {"app": "jupyterhub", "component": "singleuser-server"}
    roles["dask scheduler"] = {"dask.org/component": "scheduler"}
    roles["dask worker"] = {"dask.org/component": "worker"}
    for role, labels in roles.items():
        assert [p for p in policies if selects(p["spec"]["podSelector"], labels)], role
