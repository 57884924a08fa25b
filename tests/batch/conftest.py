"""Batch fixtures: a user's home with job code and a parameterised notebook, and backends.

Jobs run for real: detached supervisor and runner processes, each with its own TLS-secured
Dask LocalCluster, state under a temporary data directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from wisehub.batch import BatchSettings, LocalBackend
from wisehub.config import Settings, get_settings, load_settings

JOB_CODE = '''
import json, os, time

def square_sum(n, delay=0.0):
    """Sum of squares on the job's own Dask cluster."""
    from distributed import get_client
    client = get_client()
    time.sleep(delay)
    print("square_sum running", n, flush=True)
    return sum(client.gather(client.map(lambda x: x * x, range(n))))

def write_report(night):
    with open(f"report-{night}.json", "w") as out:
        json.dump({"night": night, "pid": os.getpid()}, out)
    return night

def sleeper(seconds):
    print("sleeping", os.getpid(), flush=True)
    time.sleep(seconds)
    return seconds

def crash_after_partial_output(night):
    with open(f"partial-{night}.txt", "w") as out:
        out.write("half a night")
    raise ValueError(f"bad frames in night {night}")

def group_work(group, n):
    from distributed import get_client
    return {"group": group, "total": get_client().submit(sum, range(n)).result()}
'''

NOTEBOOK_PARAMETERS = 'night = "2024-01-01"\nn = 3'
NOTEBOOK_BODY = '''import wisehub as wh
client = wh.cluster()
total = client.submit(sum, range(n)).result()
print("night", night, "total", total, "address", client.scheduler.address)'''


def write_notebook(path: Path) -> Path:
    """A notebook with a tagged ``parameters`` cell (night, n) that computes on Dask."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(NOTEBOOK_PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(NOTEBOOK_BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


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
