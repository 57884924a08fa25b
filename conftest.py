"""Set-up for the library's docstring examples (``make test`` runs them with
``pytest --doctest-modules platform/wisehub``).

Each example runs in a fresh temporary working directory with its own ``WISEHUB_DATA_DIR``,
so an example that writes (``Settings(data_dir="wh-doc").ensure_data_dir()``) writes there.
This file sits at the root, outside the package, so wheels do not ship it; tests in ``tests/``
have their own fixtures and are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Alembic's env.py runs only inside alembic's migration context.
collect_ignore_glob = ["platform/wisehub/lineage/migrations/*"]


@pytest.fixture(autouse=True)
def _examples_write_to_a_temporary_directory(request: pytest.FixtureRequest) -> Iterator[None]:
    if type(request.node).__name__ != "DoctestItem":
        yield
        return
    from wisehub.config import get_settings

    tmp_path: Path = request.getfixturevalue("tmp_path")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WISEHUB_DATA_DIR", str(tmp_path / "data"))
    for name in ("WISEHUB_CONFIG", "WISEHUB_CATALOG_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
