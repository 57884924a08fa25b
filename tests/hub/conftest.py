"""Hub fixtures: one real JupyterHub + configurable-http-proxy per session, on 127.0.0.1.

The hub is started by the launcher behind ``wisehub up`` (``wisehub.hub.launcher.start``), with
the demo users and groups, the session's sample data, and share sync every second. Tests create
their own users (unique names) so they do not depend on each other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from wisehub.config import Settings, load_settings
from wisehub.hub.launcher import RunningHub, start, stop
from wisehub.hub.settings import HubSettings
from wisehub.samples import SampleSet

# hubtools (helpers shared by the hub test modules) lives next to the tests.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def practice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one small notebook that prints and draws a (matplotlib) plot."""
    folder = tmp_path_factory.mktemp("notebooks") / "practice"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# First steps"),
        nbformat.v4.new_code_cell("import numpy as np\nx = np.linspace(0, 6.3, 50)\n"
                                  "print('points:', x.size)"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
                                  "plt.plot(x, np.sin(x)); plt.title('a sine')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "01-first-steps.ipynb")
    return folder


@pytest.fixture(scope="session")
def hub_settings(data_dir: Path, sample_set: SampleSet, practice: Path) -> Settings:
    """Settings of the session's hub: demo auth, local spawner, the repository's tutorials
    (and a practice notebook), share sync every second."""
    notebooks = [*HubSettings().notebooks, practice]
    return load_settings(data_dir=data_dir, hub={
        "demo_password": "demo-password-for-tests", "share_sync_interval": 1,
        "notebooks": notebooks})



@pytest.fixture(scope="session")
def hub(hub_settings: Settings) -> Iterator[RunningHub]:
    """The session's running hub (started once, stopped with everything it spawned)."""
    running = start(hub_settings)
    try:
        yield running
    finally:
        stop(running)

