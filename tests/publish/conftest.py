"""Publishing fixtures: the session's real JupyterHub (with the ``publish`` service) and a
lineage store in the hub's own database, as a user would write it from a notebook."""

from __future__ import annotations

import pytest
from wisehub.config import Settings
from wisehub.hub.launcher import RunningHub
from wisehub.lineage import Context, LineageStore


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
