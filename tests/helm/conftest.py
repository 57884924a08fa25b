"""Fixtures for the chart tests: a staged chart with stand-in dependencies (see helmtools.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helmtools import EXAMPLES, render, settings_file, stage_chart
from traitlets.config import Config
from wisehub.config import load_settings
from wisehub.dev.postgres import PostgresServer, postgres_server
from wisehub.hub import configure
from wisehub.hub.kube import UserCredentials, UserResources, pod_environment
from wisehub.storage.credentials import S3Credentials


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage_chart(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="session")
def rendered(chart: Path) -> dict[str, list[dict]]:
    """Every object, per values file: the defaults and each example."""
    out = {"default": render(chart)}
    for example in EXAMPLES:
        out[example.stem] = render(chart, example)
    return out


@pytest.fixture(scope="session")
def hub_config(chart: Path, rendered, tmp_path_factory) -> tuple[Config, dict]:
    """The hub's config as in the hub pod: ``configure`` on the settings the chart renders."""
    path = settings_file(rendered["default"], tmp_path_factory.mktemp("hub"))
    s3 = yaml.safe_load(path.read_text())["s3"]
    loaded = load_settings(path, s3={**s3, "access_key": "AK", "secret_key": "sk"})
    c = Config()
    configure(c, loaded)
    image = yaml.safe_load(Path(chart, "values.yaml").read_text())["jupyterhub"][
        "singleuser"]["image"]
    c.KubeSpawner.image = f"{image['name']}:{image['tag']}"  # as z2jh's config does
    # Stand-in credentials (no RGW is reachable from here); the hook itself is the real one.
    c.KubeSpawner.pre_spawn_hook = UserResources(
        loaded.hub.kubernetes,
        lambda name, members: UserCredentials(
            S3Credentials(f"AK-{name}", "sk"),
            lineage_url=f"postgresql+psycopg://{name}:pw-{name}@wisehub-lineage-db/lineage"),
        pod_environment(loaded))
    return c, {"settings": loaded}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL (Debian's initdb + pg_ctl on 127.0.0.1) for the session."""
    with postgres_server() as server:
        yield server
