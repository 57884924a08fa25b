"""The public API: ``wh.__all__`` and ``dir(wh)`` list every public name, sub-packages import
lazily, and docs/api.md is exactly what the docstrings say."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import wisehub as wh

CHECKOUT = Path(__file__).resolve().parents[1]
# The console entry point, modules whose public names wh re-exports (wh.SettingsError) or
# that only the settings use, and the process records batch and compute share.
INTERNAL = {"cli", "errors", "lazy", "processes", "settings_types"}


def test_all_and_dir_list_every_subpackage_and_public_name() -> None:
    modules = {m.name for m in pkgutil.iter_modules(wh.__path__)} - INTERNAL
    assert modules <= set(wh.__all__), f"missing from wh.__all__: {modules - set(wh.__all__)}"
    assert set(wh.__all__) <= set(dir(wh)), set(wh.__all__) - set(dir(wh))
    assert wh.__all__ == sorted(wh.__all__)
    for name in wh.__all__:
        assert getattr(wh, name) is not None, name
    assert not [n for n in dir(wh) if not n.startswith("_") and n not in wh.__all__]


def test_subpackages_resolve_lazily_and_import_wisehub_stays_light() -> None:
    probe = """
import json, sys
import wisehub as wh
before = sorted(m for m in sys.modules if m.split(".")[0] in
                ("dask", "distributed", "xarray", "numpy", "jupyterhub", "intake", "zarr")
                or m in ("wisehub.compute.local", "wisehub.reduce", "wisehub.viz",
                         "wisehub.lineage"))
compute = wh.compute  # no prior import
print(json.dumps({"before": before, "compute": compute.__name__,
                  "cluster": wh.cluster is compute.cluster, "sub": wh.reduce.__name__}))
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=300, check=True)
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["before"] == [], f"import wisehub pulled in {got['before']}"
    assert (got["compute"], got["cluster"], got["sub"]) == ("wisehub.compute", True,
                                                            "wisehub.reduce")


def test_the_command_line_starts_without_the_science_libraries(tmp_path: Path) -> None:
    """Every ``wisehub`` command used to import xarray, dask, numba and astropy, because the
    CLI lists the ingest, reduce and samples groups: ``wisehub batch list`` took 11 s of CPU.
    Only the command that runs loads what it needs."""
    probe = """
import json, sys
from typer.testing import CliRunner
from wisehub.cli import app
result = CliRunner().invoke(app, ["batch", "list"])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {
    "xarray", "dask", "distributed", "numba", "astropy", "zarr", "s3fs", "pandas"})
print(json.dumps({"exit": result.exit_code, "output": result.output, "heavy": heavy}))
"""
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=300, check=True,
                         env={**os.environ, "WISEHUB_DATA_DIR": str(tmp_path)})
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["exit"] == 0 and got["output"] == "(no batch jobs)\n", got
    assert got["heavy"] == [], f"`wisehub batch list` loaded {got['heavy']}"


def test_api_page_is_generated_from_the_docstrings() -> None:
    page = (CHECKOUT / "docs" / "api.md").read_text()
    # In a fresh interpreter: which names are bound (a function, or a sub-module of the same
    # name) must not depend on what earlier tests imported.
    fresh = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'scripts'); "
                            "import api_docs; print(api_docs.render(), end='')"],
                           cwd=CHECKOUT, capture_output=True, text=True, check=True, timeout=300)
    assert page == fresh.stdout, (
        "docs/api.md is out of date: run `python scripts/api_docs.py` and commit it")


def test_api_page_names_every_public_function() -> None:
    page = (CHECKOUT / "docs" / "api.md").read_text()
    documented = 0
    for name in wh.__all__:
        obj = getattr(wh, name)
        if isinstance(obj, ModuleType) and obj.__name__ == f"wisehub.{name}":
            members = [f"{obj.__name__}.{m}" for m in getattr(obj, "__all__", [])]
        else:
            members = [f"wh.{name}"]
        for member in members:
            assert f"### `{member}" in page, f"{member} is missing from docs/api.md"
            documented += 1
    assert documented > 50
