"""Render the wisehub chart with a real helm binary, offline.

The published dependency charts (z2jh, the dask operator) cannot be downloaded here, so the
chart is copied to a temporary directory and each dependency is replaced by a **stand-in
chart** in ``charts/``: the stand-in for ``jupyterhub`` holds z2jh's real ``values.yaml`` and
its real values schema (``shared/reference/z2jh``, converted from YAML to JSON, which is all
helm reads), and no templates. So ``helm lint``/``helm template`` check our ``jupyterhub:``
values against z2jh's schema exactly as an install would, and render every object of *our*
templates; z2jh's and the operator's own objects are not rendered (nothing here claims they
are). Helm itself comes from ``scripts/install-helm.sh`` (``make install``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jupyterhub import orm

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "wisehub"
REFERENCE = next(p for p in (Path(os.environ.get("WISEHUB_REFERENCE", REPO / "missing")),
                             REPO.parent / "shared" / "reference", Path("/work/shared/reference"))
                 if p.is_dir())
"""Upstream reference data (z2jh schema, dask-operator CRDs): ``shared/reference`` beside the
checkout (as in CI), or ``$WISEHUB_REFERENCE``; see shared/reference/README.md."""
EXAMPLES = sorted(CHART.joinpath("examples").glob("*.yaml"))
"""Example values files shipped with the chart; each is validated like the defaults."""
KUBE_VERSIONS = ["1.32.0", "1.37.0"]
"""The oldest Kubernetes the chart supports, and the newest kubernetes-validate bundles."""


def helm_binary() -> str:
    """The helm installed into the venv by ``make install`` (or one on PATH)."""
    for candidate in (Path(sys.prefix) / "bin" / "helm", shutil.which("helm")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise RuntimeError("helm not found: run `make install` (scripts/install-helm.sh)")


def z2jh_schema() -> dict[str, Any]:
    """z2jh's real values schema, as the JSON document helm would read."""
    return yaml.safe_load((REFERENCE / "z2jh" / "values.schema.yaml").read_text())


def stage_chart(dest: Path) -> Path:
    """Copy the chart to ``dest`` with stand-in dependency charts (see the module docstring)."""
    chart = dest / "wisehub"
    shutil.copytree(CHART, chart, symlinks=False)  # the catalogue symlink becomes files
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for dep in meta["dependencies"]:
        sub = chart / "charts" / dep["name"]
        sub.mkdir(parents=True)
        (sub / "Chart.yaml").write_text(yaml.safe_dump({
            "apiVersion": "v2", "name": dep["name"], "version": dep["version"],
            "description": "stand-in for the published chart: values and schema only"}))
    z2jh = chart / "charts" / "jupyterhub"
    shutil.copy(REFERENCE / "z2jh" / "values.yaml", z2jh / "values.yaml")
    (z2jh / "values.schema.json").write_text(json.dumps(z2jh_schema()))
    return chart


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    """Run helm; the caller checks ``returncode``."""
    return subprocess.run([helm_binary(), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def render(chart: Path, *values_files: Path, kube_version: str = KUBE_VERSIONS[0],
           sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``helm template`` the chart; every rendered object, as dicts."""
    args = ["template", "wisehub", str(chart), "--namespace", "wisehub",
            "--kube-version", kube_version]
    for path in values_files:
        args += ["--values", str(path)]
    for item in sets:
        args += ["--set", item]
    done = helm(*args)
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def settings_file(objects: list[dict[str, Any]], tmp: Path) -> Path:
    """The hub's settings file from a render's ``wisehub-settings`` ConfigMap, written to
    ``tmp`` with its users file, the paths pointed into ``tmp`` (as mounted in the hub pod)."""
    data = next(o for o in objects if o["kind"] == "ConfigMap"
                and o["metadata"]["name"] == "wisehub-settings")["data"]
    (tmp / "users.yaml").write_text(data["users.yaml"])
    settings = yaml.safe_load(data["settings.yaml"])
    settings["hub"]["users_file"] = str(tmp / "users.yaml")
    settings["data_dir"] = str(tmp / "data")
    (tmp / "settings.yaml").write_text(yaml.safe_dump(settings))
    return tmp / "settings.yaml"


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs a workload object runs (Deployment, StatefulSet, CronJob, Pod)."""
    kind = obj["kind"]
    if kind == "Pod":
        return [obj["spec"]]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return [obj["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    """The labels of the pods a workload object runs."""
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    return obj["spec"]["template"]["metadata"]["labels"]


USERS = {"alice": ["lab"], "pupil1": ["astro101"], "nobody": []}
"""Hub users of the spawner tests and their groups (the chart's default groups)."""


def make_hub_db(tmp: Path) -> Any:
    """A real (SQLite) hub database holding :data:`USERS` and their groups."""
    session = orm.new_session_factory(f"sqlite:///{tmp / 'hub.sqlite'}")()
    groups = {g: orm.Group(name=g) for g in ("lab", "astro101")}
    for name, member_of in USERS.items():
        user = orm.User(name=name)
        user.groups = [groups[g] for g in member_of]
        session.add(user)
    session.commit()
    return session
