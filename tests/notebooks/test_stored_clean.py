"""Notebooks are stored without outputs, and every tutorial has its five parts and hidden
solutions."""

from __future__ import annotations

import nbformat
import pytest
from wisehub.resources import notebooks_dir

NOTEBOOKS = notebooks_dir()  # the packaged notebooks, as users get them

ALL = sorted(NOTEBOOKS.glob("*/*.ipynb"))
TUTORIALS = sorted(NOTEBOOKS.glob("tutorials/*.ipynb"))


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them before committing"


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_follows_the_five_parts(path):
    text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown")
    for part in ("## 1. Background", "## 2. The data", "## 3. Step-by-step analysis",
                 "## 4. The code", "## 5. Interpretation and discussion"):
        assert part in text, f"{path.name} lacks the part {part!r}"
    assert "<details>" in text and "Show the solution" in text


EMPTY_PARAMETRISED = '''
import pytest
from pathlib import Path

@pytest.mark.parametrize("path", sorted(Path("{folder}").glob("*/*.ipynb")))
def test_notebook(path):
    assert path.exists()
'''


def test_finding_no_notebooks_fails_instead_of_skipping(tmp_path, pytestconfig):
    """Under the project's pytest settings, a parametrised notebook test over an empty folder
    fails the run (empty_parameter_set_mark), so a moved notebooks folder cannot pass silently."""
    import subprocess
    import sys

    (tmp_path / "empty").mkdir()
    test_file = tmp_path / "test_empty.py"
    test_file.write_text(EMPTY_PARAMETRISED.format(folder=tmp_path / "empty"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(pytestconfig.rootpath / "pyproject.toml"),
         "-p", "no:cacheprovider", "-q", str(test_file)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode != 0, run.stdout
    assert "Empty parameter set" in run.stdout and "skipped" not in run.stdout, run.stdout
    assert ALL and TUTORIALS, f"no notebooks found under {NOTEBOOKS}"
