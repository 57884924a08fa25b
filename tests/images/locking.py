"""What the image lock is made from, shared by scripts/lock-images.py and the tests."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "images" / "requirements.lock"
EXTRAS = ("hub", "postgres", "k8s")
"""The extras both images install (user pods: JupyterLab, Dask; hub: KubeSpawner, operator)."""
HUB_JUPYTERHUB = "==5.4.*"
"""The JupyterHub of z2jh 4.3.2 (helm/wisehub/Chart.yaml): the hub image keeps it."""


def requirements() -> list[str]:
    """The project's dependencies plus those of :data:`EXTRAS`, as written in pyproject."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]
    return [*project["dependencies"], *(r for name in EXTRAS for r in extra[name])]


def dependency_digest() -> str:
    """A digest of :func:`requirements` and the JupyterHub pin: the lock's input."""
    data = json.dumps([requirements(), HUB_JUPYTERHUB], separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def read_lock() -> tuple[str, dict[str, str]]:
    """The lock's recorded digest and its pins (normalised name -> version)."""
    text = LOCK.read_text()
    digest = re.search(r"pyproject-dependencies-sha256: ([0-9a-f]{64})", text)
    pins = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalise(name)] = version
    return (digest.group(1) if digest else ""), pins


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()
