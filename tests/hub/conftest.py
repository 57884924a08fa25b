"""Hub fixtures: one real JupyterHub + configurable-http-proxy per session, on 127.0.0.1.

The hub is started by the launcher behind ``wisehub up`` (``wisehub.hub.launcher.start``), with
the demo users and groups, the session's sample data, and share sync every second. Tests create
their own users (unique names) so they do not depend on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wisehub.config import Settings, load_settings
from wisehub.hub.launcher import RunningHub, start, stop
from wisehub.samples import SampleSet


@pytest.fixture(scope="session")
def hub_settings(data_dir: Path, sample_set: SampleSet) -> Settings:
    """Settings of the session's hub: demo auth, local spawner, the repository's tutorials,
    share sync every second."""
    return load_settings(data_dir=data_dir, hub={
        "demo_password": "demo-password-for-tests", "share_sync_interval": 1})



@pytest.fixture(scope="session")
def hub(hub_settings: Settings) -> Iterator[RunningHub]:
    """The session's running hub (started once, stopped with everything it spawned)."""
    running = start(hub_settings)
    try:
        yield running
    finally:
        stop(running)

