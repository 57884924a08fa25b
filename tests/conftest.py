"""Session-wide fixtures: one sample set and an isolated data directory for the whole run."""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from wisehub.config import Settings, get_settings, load_settings
from wisehub.dev.ceph import CephCluster, ceph_cluster
from wisehub.hub.launcher import RunningHub, start, stop
from wisehub.samples import SampleSet, make_samples

if TYPE_CHECKING:
    from wisehub.lineage import LineageStore

# The samples every test shares: small, but with every feature (3 nights, 2 chips).
SAMPLE_PARAMS = {"size": "tiny", "nights": 3, "chips": 2, "n_events": 40_000, "seed": 2024}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh WISEHUB_DATA_DIR for the test session, exported to the environment."""
    path = tmp_path_factory.mktemp("wisehub-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WISEHUB_DATA_DIR", str(path))
        get_settings.cache_clear()
        yield path
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def sample_set(data_dir: Path) -> SampleSet:
    """The sample observations under ``data_dir/samples``, made once per session."""
    return make_samples(data_dir / "samples", **SAMPLE_PARAMS)


@pytest.fixture(scope="session")
def raw_lineage(sample_set: SampleSet, tmp_path_factory: pytest.TempPathFactory
                ) -> Callable[[str], LineageStore]:
    """Makes a new SQLite lineage store for user ada, products on local disk, with the sample
    raw frames registered: ``raw_lineage("viz")``. Each call gets its own store."""
    from wisehub.lineage import Context, LineageStore
    from wisehub.pipelines.ccd import register_raw
    from wisehub.storage import Storage

    def make(name: str) -> LineageStore:
        path = tmp_path_factory.mktemp(name)
        store = LineageStore(f"sqlite:///{path / 'l.sqlite'}", Context("ada"),
                             storage=Storage.local(str(path / "products")))
        register_raw(store, str(sample_set.stores["raw"]))
        return store

    return make


@pytest.fixture(scope="session")
def ceph() -> Iterator[CephCluster]:
    """A real single-node Ceph (mon, memstore OSD, RGW) on 127.0.0.1 for the whole session."""
    with ceph_cluster() as cluster:
        yield cluster

def _python_folders() -> list[Path]:
    """The folders down to this Python (base and venv) that other accounts must traverse."""
    base = Path(sys.base_prefix).resolve()
    return [*base.parents, base, Path(sys.prefix).resolve()]


_TRAVERSE_ADDED: list[tuple[Path, int]] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """Let other accounts traverse to this Python (e.g. a pyenv under a 0700 /root), once
    for the whole run, and only in the process that runs the session (xdist's controller).

    System-user mode needs an interpreter every user can run; a real installation puts it
    under /opt or /usr/local. The fixture did this per test and undid it after each, and CI
    twice saw a second OS user unable to import the standard library mid-test
    (``PermissionError`` on ``ast.py``, a half-imported ``re``); opened once for the run,
    there is no window left in which it is closed.
    """
    if hasattr(session.config, "workerinput"):
        return
    for folder in _python_folders():
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
            _TRAVERSE_ADDED.append((folder, mode))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Take the search bits added at the start away again (controller only)."""
    if hasattr(session.config, "workerinput"):
        return
    while _TRAVERSE_ADDED:
        folder, mode = _TRAVERSE_ADDED.pop()
        folder.chmod(mode)


@pytest.fixture
def python_for_everyone() -> None:
    """Tests that run this Python as another account: the run made it reachable (see
    :func:`pytest_sessionstart`); a folder still closed to others is an error here."""
    closed = [f for f in _python_folders() if not f.stat().st_mode & stat.S_IXOTH]
    assert not closed, f"other accounts cannot reach this Python through {closed}"


@pytest.fixture
def clock_step(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``clock_step(seconds)``: what a step of the wall clock (NTP, a laptop's clock set after
    a suspend) does to psutil in this process. psutil adds the boot time of /proc/stat, which
    the kernel derives from the wall clock, to every process's start, so it shifts that."""
    import psutil

    def step(seconds: float) -> None:
        read = psutil._psplatform.boot_time
        monkeypatch.setattr(psutil._psplatform, "boot_time", lambda: read() + seconds)

    return step


@pytest.fixture(scope="session")
def hub_settings(data_dir: Path, sample_set: SampleSet) -> Settings:
    """Settings of the session's hub: demo auth, local spawner, the repository's tutorials,
    share sync every 3 s (each sync is three hub API calls: at 1 s the hub and the sync used
    3.3 s of CPU a minute for the whole session, at 5 s 0.6 s; the sharing tests wait up to
    30 s for a sync)."""
    return load_settings(data_dir=data_dir, hub={
        "demo_password": "demo-password-for-tests", "share_sync_interval": 3})



@pytest.fixture(scope="session")
def hub(hub_settings: Settings) -> Iterator[RunningHub]:
    """The session's running hub (started once, stopped with everything it spawned)."""
    running = start(hub_settings)
    try:
        yield running
    finally:
        stop(running)


def _xdist_group(item: pytest.Item) -> str:
    """The pytest-xdist group of a test (``make test`` runs two workers, ``--dist loadgroup``).

    A group runs in one worker, so what tests share starts once: the session hub, the
    stores (the Ceph cluster and the session PostgreSQL, which some tests use together), and
    the other-OS-account tests (they create and delete OS accounts). Everything else goes by
    module, so a module's own hub or cluster starts once too.
    """
    fixtures = item._fixtureinfo.name2fixturedefs  # what the test uses, transitively
    if "hub" in fixtures and fixtures["hub"][-1].scope == "session":
        return "session-hub"
    if "ceph" in fixtures or item.get_closest_marker("postgres") is not None:
        return "stores"
    if "python_for_everyone" in fixtures:
        return "other-accounts"
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "_fixtureinfo"):
            item.add_marker(pytest.mark.xdist_group(_xdist_group(item)))
