"""Set-up for the library's docstring examples (``make test`` runs them in the same pytest
run as the suite: ``--doctest-modules`` and ``platform/wisehub`` are in pyproject's settings).

Each example runs in a fresh temporary working directory with its own ``WISEHUB_DATA_DIR``,
so an example that writes (``Settings(data_dir="wh-doc").ensure_data_dir()``) writes there.
Since the examples run after the suite, in its interpreter, each also starts without a default
lineage store, and (like every test) with Dask's scheduler settings as the session found them.
This file sits at the root, outside the package, so wheels do not ship it; the rest of the
tests' fixtures are in ``tests/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Alembic's env.py runs only inside alembic's migration context.
collect_ignore_glob = ["platform/wisehub/lineage/migrations/*"]


@pytest.fixture(scope="session")
def _dask_scheduler_at_start() -> dict:
    """Dask's scheduler settings as the session found them."""
    import dask

    return {key: dask.config.config[key] for key in ("scheduler", "shuffle")
            if key in dask.config.config}


@pytest.fixture(autouse=True)
def _dask_scheduler_restored(_dask_scheduler_at_start: dict) -> None:
    """Every test and example starts with the session's own scheduler settings. An open
    distributed Client sets the global scheduler, and clients closed out of order (some in
    module-scoped fixtures, after their tests) can leave it set once they are gone, so a later
    plain compute asks for a cluster that no longer exists."""
    import dask

    for key in ("scheduler", "shuffle"):
        if key in _dask_scheduler_at_start:
            dask.config.config[key] = _dask_scheduler_at_start[key]
        else:
            dask.config.config.pop(key, None)


@pytest.fixture(autouse=True)
def _examples_write_to_a_temporary_directory(request: pytest.FixtureRequest) -> Iterator[None]:
    if type(request.node).__name__ != "DoctestItem":
        yield
        return
    from wisehub.config import get_settings
    from wisehub.lineage import set_default_store

    set_default_store(None)
    tmp_path: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WISEHUB_DATA_DIR", str(tmp_path / "data"))
    for name in ("WISEHUB_CONFIG", "WISEHUB_CATALOG_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    set_default_store(None)
    get_settings.cache_clear()
