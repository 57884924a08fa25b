"""wisehub works installed from its wheel, away from the checkout.

Builds the wheel with pip from a copy of the sources (so the checkout gets no build/ or
egg-info), installs it NOT editable into a fresh venv, and runs what a new user runs:
``wisehub --help``, ``wisehub samples make``, ``wh.catalog()`` on the packaged catalogue, and
``wisehub.hub.configure(c, settings)`` on a traitlets Config with the packaged demo users and
notebooks.

To keep CI fast the fresh venv borrows the test environment's third-party packages through a
plain path line in a ``.pth`` file (which puts that site-packages directory on ``sys.path``
but does not run the ``.pth`` files inside it, so the editable install of the checkout stays
off). ``wisehub`` itself must come from the wheel: the test asserts where it was imported
from, and that no part of the checkout is on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "platform/wisehub", "catalogs", "notebooks")

USER_SESSION = textwrap.dedent("""
    import json, sys
    from pathlib import Path

    import wisehub as wh
    from traitlets.config import Config
    from wisehub.config import load_settings
    from wisehub.hub import configure
    from wisehub.resources import catalog_dir, demo_users_file, notebooks_dir

    cat = wh.catalog()
    raw = cat["whcam.raw"].read()
    c = Config()
    settings = load_settings(hub={"demo_password": "wheel-test-password"})
    configure(c, settings)
    print(json.dumps({
        "file": wh.__file__,
        "version": wh.__version__,
        "sys_path": sys.path,
        "catalog_source": cat.source,
        "entries": cat.names(),
        "raw_frames": raw.sizes["frame"],
        "catalog_dir": str(catalog_dir()),
        "notebooks": sorted(p.name for p in (notebooks_dir() / "tutorials").glob("*.ipynb")),
        "users_file": str(settings.hub.users_file),
        "demo_users": str(demo_users_file()),
        "groups": sorted(c.JupyterHub.load_groups),
        "authenticator": c.JupyterHub.authenticator_class.__name__,
    }))
""")


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert run.returncode == 0, f"{args} failed:\n{run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built by pip from a copy of the sources."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        origin = CHECKOUT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(origin, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist),
          str(src)])
    (built,) = dist.glob("wisehub-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable)."""
    root = tmp_path_factory.mktemp("venv")
    # No pip of its own (ensurepip costs seconds of CPU): pip's --python runs pip inside the
    # new venv's interpreter, before the borrowed packages are visible, so it installs the
    # wheel whatever the test environment holds.
    _run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    python = root / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
          "--no-deps", "--no-index", str(wheel)], env=_clean_env())
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
                     ).stdout.strip())
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root


def _clean_env() -> dict[str, str]:
    """The environment without anything that points Python or wisehub at the checkout."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("WISEHUB_", "PYTHON", "VIRTUAL_ENV", "PIP_"))}


def _user_env(data_dir: Path, home: Path) -> dict[str, str]:
    # configurable-http-proxy as `make` installs it for the test environment, found on PATH
    # the way a user who installed it with npm would have it.
    proxy_bin = Path(sys.prefix) / "npm" / "node_modules" / ".bin"
    path = os.pathsep.join([str(proxy_bin), os.environ.get("PATH", "")])
    return {**_clean_env(), "WISEHUB_DATA_DIR": str(data_dir), "HOME": str(home), "PATH": path}


def test_the_wheel_holds_the_catalogues_notebooks_and_demo_users(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for catalogue in sorted((CHECKOUT / "catalogs").glob("*.yaml")):
        assert f"wisehub/share/catalogs/{catalogue.name}" in names
    for notebook in sorted((CHECKOUT / "notebooks").glob("*/*.ipynb")):
        assert f"wisehub/share/notebooks/{notebook.parent.name}/{notebook.name}" in names
    assert {"wisehub/hub/demo-users.yaml", "wisehub/hub/package.json"} <= names
    assert not any(n.startswith(("tests/", "conftest")) for n in names)


def test_installed_wheel_runs_the_newcomer_path(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"  # away from the checkout
    work.mkdir()
    env = _user_env(tmp_path / "data", tmp_path / "home")

    helped = _run([str(venv / "bin" / "wisehub"), "--help"], cwd=work, env=env)
    for command in ("samples", "ingest", "catalog", "lineage", "up"):
        assert command in helped.stdout

    made = _run([str(venv / "bin" / "wisehub"), "samples", "make", "--size", "tiny",
                 "--nights", "1", "--chips", "1", "--events", "500"], cwd=work, env=env)
    assert "samples ready in" in made.stdout
    assert (tmp_path / "data" / "samples" / "raw.zarr").is_dir()

    report = json.loads(_run([str(venv / "bin" / "python"), "-c", USER_SESSION],
                             cwd=work, env=env).stdout.strip().splitlines()[-1])
    site = Path(report["file"]).resolve()
    assert site.is_relative_to(venv.resolve()), f"wisehub imported from {site}, not the wheel"
    checkout_parts = [CHECKOUT, CHECKOUT / "platform"]
    on_path = [p for p in report["sys_path"] if p and Path(p).resolve() in checkout_parts]
    assert not on_path, f"the checkout is on sys.path: {on_path}"
    for packaged in ("catalog_dir", "catalog_source", "users_file", "demo_users"):
        assert Path(report[packaged]).resolve().is_relative_to(venv.resolve()), report[packaged]
    assert report["entries"] == sorted(report["entries"])
    assert {"whcam.raw", "ifu.cube", "hubble.galaxies", "showers.events",
            "whcam.raw.s3"} <= set(report["entries"])
    assert report["raw_frames"] > 0
    assert report["notebooks"] == sorted(p.name for p in
                                         (CHECKOUT / "notebooks" / "tutorials").glob("*.ipynb"))
    assert report["groups"] == ["astro101", "lab"]
    assert report["authenticator"] == "DemoAuthenticator"
    assert report["version"] == _run(
        [str(venv / "bin" / "python"), "-c",
         "from importlib.metadata import version; print(version('wisehub'))"],
        cwd=work, env=env).stdout.strip()
