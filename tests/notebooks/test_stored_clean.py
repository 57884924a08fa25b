"""Notebooks are stored without outputs, and every tutorial has its five parts and hidden
solutions."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

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
