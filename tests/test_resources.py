"""Package data, and the versions that are written in exactly one place."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import wisehub
import yaml
from wisehub.hub.configuration import CHP_VERSION
from wisehub.resources import catalog_dir, demo_users_file, notebooks_dir, proxy_version

CHECKOUT = Path(__file__).resolve().parents[1]


def test_packaged_files_are_the_checkouts_top_level_ones() -> None:
    # In a checkout, wisehub/share links to the top-level folders people browse and edit.
    assert catalog_dir() == (CHECKOUT / "catalogs").resolve()
    assert notebooks_dir() == (CHECKOUT / "notebooks").resolve()
    root = yaml.safe_load((catalog_dir() / "wisehub.yaml").read_text())
    for data in root["data"].values():
        sub = data["kwargs"]["url"].replace("{CATALOG_DIR}", str(catalog_dir()))
        assert Path(sub).is_file(), f"the root catalogue points at a missing {sub}"
    assert sorted(yaml.safe_load(demo_users_file().read_text())["groups"]) == ["astro101", "lab"]


def test_the_package_version_is_written_once() -> None:
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "wisehub.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", wisehub.__version__)


def test_the_proxy_version_is_written_once() -> None:
    pins = json.loads((CHECKOUT / "platform/wisehub/hub/package.json").read_text())
    assert CHP_VERSION == proxy_version() == pins["dependencies"]["configurable-http-proxy"]
    makefile = (CHECKOUT / "Makefile").read_text()
    assert CHP_VERSION not in makefile and "platform/wisehub/hub/package.json" in makefile
    source = (CHECKOUT / "platform/wisehub/hub/configuration.py").read_text()
    assert CHP_VERSION not in source
