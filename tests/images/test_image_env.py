"""Each image's Python environment, built in a venv from the lock file (no Docker engine here).

Both images install exactly ``images/requirements.lock`` and then the project without its
dependencies (see their Dockerfiles), so one venv built the same way is their environment on
this machine's Python (3.11; the hub image's base may carry another Python, where the same
pins are installed). The venv gets the project from a wheel built from the source, never the
checkout. In it, everything the images need imports, ``pip check`` passes, ``wisehub --help``
runs, and ``wisehub.hub.configure`` configures a cluster-mode hub under the lock's JupyterHub
(the chart's, 5.4.x).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from locking import LOCK, REPO

pytestmark = pytest.mark.images

IMPORTS = [
    "wisehub", "wisehub.hub.kube", "wisehub.compute",
    "jupyterlab", "jupyter_server_proxy", "dask_labextension", "distributed", "dask.array",
    "astropy", "hvplot.xarray", "xarray", "zarr", "intake", "s3fs", "psycopg",
    "kubespawner", "dask_kubernetes.operator", "jupyterhub_idle_culler", "nativeauthenticator",
    "oauthenticator.generic",
]

CONFIGURE = """
import jupyterhub
from traitlets.config import Config
from wisehub.config import load_settings
from wisehub.hub import configure
from wisehub.hub.oidc import EXAMPLE
c = Config()
configure(c, load_settings(mode="cluster", storage="s3", data_dir={data!r},
                           s3={{"endpoint_url": "https://s3.example.org"}},
                           hub={{"spawner": "kubernetes", "authenticator": "oidc",
                                "oidc": {{**EXAMPLE, "client_secret": "s"}}}}))
assert c.KubeSpawner.automount_service_account_token is False
assert c.JupyterHub.authenticator_class.__name__ == "GenericOAuthenticator"
print(jupyterhub.__version__, c.JupyterHub.spawner_class)
"""


def run(python: Path, *args: str) -> str:
    # Nothing from the test's own environment may point the venv back at the checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run([str(python), *args], capture_output=True, text=True, timeout=1800,
                          check=False, env=env)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def image_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("image-env")
    venv.create(root / "venv", with_pip=True)
    python = root / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--no-deps", "-r", str(LOCK))
    wheels = root / "wheels"
    run(Path(sys.executable), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
        str(REPO))
    run(python, "-m", "pip", "install", "-q", "--no-deps", *map(str, wheels.glob("*.whl")))
    return python


@pytest.mark.timeout(3600)
def test_image_environment_imports_configures_and_runs(image_python: Path, tmp_path: Path):
    run(image_python, "-m", "pip", "check")
    run(image_python, "-c", "; ".join(f"import {m}" for m in IMPORTS))
    where = run(image_python, "-c", "import wisehub; print(wisehub.__file__)")
    assert str(REPO) not in where  # installed, not the checkout
    assert "Usage" in run(image_python.parent / "wisehub", "--help")
    version, spawner = run(image_python, "-c", CONFIGURE.format(data=str(tmp_path))).split()
    assert version.startswith("5.4.") and spawner == "kubespawner.KubeSpawner"
