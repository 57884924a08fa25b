"""``wisehub storage cleanup`` removes abandoned staging, and only that."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wisehub.config import get_settings
from wisehub.storage.cli import app


@pytest.fixture
def products(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("WISEHUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WISEHUB_STORAGE", "local")
    get_settings.cache_clear()
    yield tmp_path / "products"
    get_settings.cache_clear()


def test_cleanup_removes_old_staging_of_the_given_prefixes(products: Path) -> None:
    old = int(time.time()) - 3 * 3600
    abandoned = [products / f"private/ada/.staging/{old}-a",
                 products / f"groups/lab/.staging/{old}-b"]
    kept = [products / "private/ada/x.zarr",
            products / f"private/ada/.staging/{int(time.time())}-c"]
    for path in abandoned + kept:
        path.mkdir(parents=True)
        (path / "zarr.json").write_text("{}")
    runner = CliRunner()
    only_ada = runner.invoke(app, ["cleanup", "--older-than-hours", "2",
                                   "--prefix", "private/ada"])
    assert only_ada.exit_code == 0, only_ada.output
    assert "1 abandoned staging area(s) removed" in only_ada.output
    assert not abandoned[0].exists() and abandoned[1].exists()
    everything = runner.invoke(app, ["cleanup", "--older-than-hours", "2"])
    assert f"removed {abandoned[1]}" in everything.output
    assert not abandoned[1].exists() and all(p.exists() for p in kept)
