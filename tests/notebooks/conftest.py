"""Notebook fixtures: run a notebook top to bottom in a real kernel and read back its results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from wisehub.resources import notebooks_dir

NOTEBOOKS = notebooks_dir()  # the packaged notebooks, as users get them

_REPORT = """
import json as _json
import numpy as _np

def _plain(value):
    if hasattr(value, "reset_index"):  # pandas: a list of row records
        return _json.loads(value.reset_index().to_json(orient="records"))
    return _np.asarray(value).tolist()

print("@@RESULTS@@" + _json.dumps({{n: _plain(globals()[n]) for n in {names!r}}}))
"""


@pytest.fixture(scope="session")
def run_notebook(sample_set, tmp_path_factory) -> Callable[..., dict[str, Any]]:
    """Execute a notebook (samples already made under WISEHUB_DATA_DIR); return named values."""

    def run(relative: str, names: list[str]) -> dict[str, Any]:
        nb = nbformat.read(NOTEBOOKS / relative, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(_REPORT.format(names=names)))
        workdir = tmp_path_factory.mktemp(Path(relative).stem)
        started = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
        print(f"{relative}: ran in {time.perf_counter() - started:.1f} s")
        for output in nb.cells[-1].outputs:
            text = output.get("text", "")
            if "@@RESULTS@@" in text:
                return json.loads(text.split("@@RESULTS@@", 1)[1])
        raise AssertionError(f"{relative} printed no results: {nb.cells[-1].outputs}")

    return run
