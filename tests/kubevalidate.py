"""Offline checks of generated Kubernetes objects, shared by the batch and compute tests.

No API server runs here, so objects are checked against real schemas instead:
- custom resources against the dask-kubernetes operator's resolved CRDs (jsonschema on the
  ``openAPIV3Schema``), plus :func:`unknown_fields` for keys the structural schema does not
  declare (an API server would silently drop them, jsonschema lets them through);
- pod specs, wrapped in a v1 Pod, with ``kubernetes-validate --strict``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

CRDS = Path("/work/shared/reference/dask-operator-crds")
VERSIONS = ["1.32.0", kubernetes_validate.latest_version()]
"""Kubernetes versions every object must pass: the oldest we support and the newest bundled."""
IMPLICIT = ("apiVersion", "kind", "metadata")  # every object has them; CRDs omit them


@cache
def crd_schema(name: str) -> dict[str, Any]:
    """The v1 ``openAPIV3Schema`` of the operator CRD ``name`` (``daskjob``, ...)."""
    crd = yaml.safe_load((CRDS / f"{name}.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return version["schema"]["openAPIV3Schema"]


def unknown_fields(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Keys the CRD's structural schema does not declare (the API server would drop them)."""
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if not path and key in IMPLICIT:
                continue
            if key not in schema["properties"]:
                found.append(f"{path}.{key}")
            else:
                found += unknown_fields(item, schema["properties"][key], f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += unknown_fields(item, schema["items"], f"{path}[{index}]")
    return found


def validate_custom_resource(resource: dict[str, Any]) -> None:
    """Fail unless ``resource`` validates against its kind's CRD with no undeclared field."""
    schema = crd_schema(resource["kind"].lower())
    jsonschema.validate(resource, schema)
    extra = unknown_fields(resource, schema)
    assert extra == [], f"{resource['kind']} has fields its CRD does not declare: {extra}"


def as_pod(spec: dict[str, Any], name: str = "pod", labels: dict[str, str] | None = None
           ) -> dict[str, Any]:
    """A pod spec wrapped in a v1 Pod (``kubernetes-validate`` skips custom resources)."""
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def validate_strict(manifest: dict[str, Any], version: str) -> None:
    """``kubernetes-validate --strict`` of one built-in object for Kubernetes ``version``."""
    kubernetes_validate.validate(manifest, version, strict=True)


class NoAliases(yaml.SafeDumper):
    """A YAML dumper that writes repeated dicts out in full (no ``&id001`` anchors)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
