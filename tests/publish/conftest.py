"""Publishing fixtures: the session's real JupyterHub (with the ``publish`` service) and a
lineage store in the hub's own database, as a user would write it from a notebook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from wisehub.config import Settings
from wisehub.hub.launcher import RunningHub
from wisehub.lineage import Context, LineageStore
from wisehub.samples import SampleSet


@pytest.fixture(scope="session")
def publish_settings(hub_settings: Settings) -> Settings:
    """Settings of the session's hub (tests/conftest.py), whose configuration registers the
    publish service."""
    return hub_settings


@pytest.fixture(scope="session")
def publish_hub(hub: RunningHub) -> RunningHub:
    """The session's real hub + proxy: one per session, so two hubs never share a state
    directory (the second found the first's proxy and would not start)."""
    return hub


@pytest.fixture(scope="session")
def hub_store(publish_settings: Settings) -> LineageStore:
    """The lineage database the hub's publish service reads, seen by the user ada."""
    return LineageStore(str(publish_settings.lineage_db_url),
                        Context("ada", projects=("cosmos",), project="cosmos"))


def write_group_catalog(path: Path, showers: Path, group: str = "lab") -> Path:
    """A catalogue file with one group-level event table (the sample showers), as an
    operator would add one to the shop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({
        "version": 2, "aliases": {}, "user_parameters": {},
        "metadata": {"title": f"{group} data", "creator": f"the {group} group",
                     "licence": "CC-BY-4.0"},
        "data": {"showers": {"datatype": "intake.readers.datatypes:Zarr", "metadata": {},
                             "user_parameters": {}, "kwargs": {"url": str(showers)}}},
        "entries": {"showers.private": {
            "reader": "intake.readers.readers:XArrayDatasetReader", "user_parameters": {},
            "kwargs": {"args": ["{data(showers)}"], "engine": "zarr", "chunks": {}},
            "output_instance": "xarray:Dataset",
            "metadata": {"title": f"Air showers of the {group} group", "kind": "event-table",
                         "privilege": "group", "group": group, "licence": "CC-BY-4.0"}}},
    }))
    return path


@pytest.fixture(scope="session")
def shop_group_catalog(publish_settings: Settings, sample_set: SampleSet) -> Path:
    """The group catalogue in the session shop's catalogue folder (read on every request)."""
    return write_group_catalog(publish_settings.data_dir / "shop" / "catalogs" / "lab.yaml",
                               sample_set.stores["showers"])


@pytest.fixture(scope="session")
def group_catalog() -> Callable[..., Path]:
    """``group_catalog(path, showers_zarr, group="lab")`` writes a group catalogue."""
    return write_group_catalog
