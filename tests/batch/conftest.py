"""Batch fixtures: a user's home with job code and a parameterised notebook, and backends.

Jobs run for real: detached supervisor and runner processes, each with its own TLS-secured
Dask LocalCluster, state under a temporary data directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from batchtools import JOB_CODE, write_notebook  # tests/batch is on pytest's pythonpath
from wisehub.batch import BatchSettings, LocalBackend
from wisehub.config import Settings, get_settings, load_settings


@dataclass
class BatchPlace:
    """A user's home (job code, notebook) and the settings their jobs use."""

    home: Path
    settings: Settings
    batch: BatchSettings

    def backend(self, user: str = "ada", groups: tuple[str, ...] = (),
                batch: BatchSettings | None = None) -> LocalBackend:
        return LocalBackend(self.settings, batch or self.batch, user=user, groups=groups)

    def env(self, user: str) -> dict[str, str]:
        """Environment of a separate process acting as ``user`` on the same platform."""
        return {**os.environ, **self.settings.environment(), "WISEHUB_USER": user,
                "HOME": str(self.home)}


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BatchPlace]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "jobs.py").write_text(JOB_CODE)
    write_notebook(home / "night.ipynb")
    data = tmp_path / "data"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WISEHUB_DATA_DIR", str(data))
    monkeypatch.chdir(home)
    get_settings.cache_clear()
    settings = load_settings(data_dir=data)
    yield BatchPlace(home, settings, BatchSettings(kill_grace=2))
    get_settings.cache_clear()


@pytest.fixture
def lineage_of(place: BatchPlace) -> Callable[[str, str], list]:
    """Products a job registered, as seen by a user: ``lineage_of(job_id, user)``."""
    from wisehub.lineage import Context, LineageStore

    def products(job_id: str, user: str = "ada") -> list:
        store = LineageStore(str(place.settings.lineage_db_url), Context(user))
        return [p for t in ("BatchResult", "BatchNotebook", "BatchOutput")
                for p in store.select(t, ()) if p.attrs.get("job") == job_id]

    return products
