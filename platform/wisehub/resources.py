"""Files that ship inside the package: the Intake catalogues, the notebooks and the demo users.

They are package data, found through :mod:`importlib.resources`, so a wheel, an editable
install and the single-user image all find them the same way. In a source checkout the
top-level ``catalogs/`` and ``notebooks/`` are the files themselves; ``wisehub/share/`` links
to them, and a wheel holds copies.

>>> sorted(p.name for p in catalog_dir().glob("*.yaml"))
['ceph.yaml', 'samples.yaml', 'wisehub.yaml']
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

__all__ = ["catalog_dir", "demo_users_file", "notebooks_dir", "proxy_version"]


def _packaged(package: str, *parts: str) -> Path:
    resource = files(package).joinpath(*parts)
    if not isinstance(resource, Path):  # e.g. a zipped install: Intake and the hub need files
        raise RuntimeError(
            f"{package}/{'/'.join(parts)} is not a directory on disk; install wisehub "
            "unzipped (pip does) so its catalogues and notebooks can be read as files")
    if not resource.exists():
        raise FileNotFoundError(
            f"{resource}: package data missing from this wisehub install; reinstall wisehub")
    return resource.resolve()


def catalog_dir() -> Path:
    """The directory of the packaged Intake catalogues (``wisehub.yaml`` is the root).

    Returns
    -------
    pathlib.Path
        A directory holding ``wisehub.yaml`` and the sub-catalogues it points at.

    Examples
    --------
    >>> (catalog_dir() / "wisehub.yaml").is_file()
    True
    """
    return _packaged("wisehub", "share", "catalogs")


def notebooks_dir() -> Path:
    """The directory of the packaged notebooks: ``tutorials/`` for schools, ``examples/``.

    Returns
    -------
    pathlib.Path
        A directory with the sub-directories ``tutorials`` and ``examples``.

    Examples
    --------
    >>> sorted(p.name for p in notebooks_dir().iterdir() if p.is_dir())
    ['examples', 'tutorials']
    """
    return _packaged("wisehub", "share", "notebooks")


def demo_users_file() -> Path:
    """The packaged demo users and groups: a teacher with a class, and a research group.

    Returns
    -------
    pathlib.Path
        A YAML file in the format of ``hub.users_file``.

    Examples
    --------
    >>> demo_users_file().name
    'demo-users.yaml'
    """
    return _packaged("wisehub.hub", "demo-users.yaml")


def proxy_version() -> str:
    """The configurable-http-proxy version the local hub runs, as pinned for npm.

    ``make`` installs it from the same ``package.json``, so the pin is written once.

    Returns
    -------
    str
        An exact npm version, such as ``'5.3.0'``.

    Examples
    --------
    >>> proxy_version().count(".")
    2
    """
    manifest = json.loads(_packaged("wisehub.hub", "package.json").read_text())
    return manifest["dependencies"]["configurable-http-proxy"]
