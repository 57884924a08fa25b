"""Publishing fixtures: the session's real JupyterHub (with the ``publish`` service) and a
lineage store in the hub's own database, as a user would write it from a notebook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wisehub.config import Settings, load_settings
from wisehub.hub.launcher import RunningHub, start, stop
from wisehub.lineage import Context, LineageStore
from wisehub.samples import SampleSet


@pytest.fixture(scope="session")
def publish_settings(data_dir: Path, sample_set: SampleSet) -> Settings:
    """Settings of the session's hub (demo auth, the session's data directory)."""
    return load_settings(data_dir=data_dir, hub={"demo_password": "demo-password-for-tests"})


@pytest.fixture(scope="session")
def publish_hub(publish_settings: Settings) -> Iterator[RunningHub]:
    """A real hub + proxy whose configuration registers the publish service."""
    running = start(publish_settings)
    try:
        yield running
    finally:
        stop(running)


@pytest.fixture(scope="session")
def hub_store(publish_settings: Settings) -> LineageStore:
    """The lineage database the hub's publish service reads, seen by the user ada."""
    return LineageStore(str(publish_settings.lineage_db_url),
                        Context("ada", projects=("cosmos",), project="cosmos"))
