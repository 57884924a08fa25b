"""One lock file, generated from pyproject.toml, feeds both images; they must agree."""

from __future__ import annotations

import re

from locking import LOCK, REPO, dependency_digest, normalise, read_lock, requirements
from packaging.requirements import Requirement

DOCKERFILES = {name: REPO / "images" / name / "Dockerfile" for name in ("singleuser", "hub")}


def test_lock_was_generated_from_the_current_pyproject():
    digest, _ = read_lock()
    assert digest == dependency_digest(), (
        "pyproject.toml's dependencies changed: run scripts/lock-images.py")


def test_every_dependency_is_pinned_within_its_range():
    _, pins = read_lock()
    for line in requirements():
        req = Requirement(line)
        if req.marker and not req.marker.evaluate():
            continue
        name = normalise(req.name)
        assert name in pins, f"{req.name} is not in {LOCK.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {req.name}=={pins[name]}, outside {req.specifier}")
    assert pins["jupyterhub"].startswith("5.4.")  # the chart's, for the hub image
    assert "wisehub" not in pins  # the project installs on top, from the source


def test_the_install_step_uses_only_the_lock():
    steps = (REPO / "images" / "install-wisehub.sh").read_text()
    installs = re.findall(r"^pip install (.+)$", steps, re.M)
    assert installs == ["--no-deps -r /tmp/wisehub/requirements.lock",
                        "--no-deps /tmp/wisehub/src"]
    assert "pip check" in steps


def test_dockerfiles_are_pinned_non_root_and_install_only_the_lock():
    for name, path in DOCKERFILES.items():
        text = path.read_text()
        bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
        assert bases and all(re.search(r":\d[\w.-]*$", b) for b in bases), (name, bases)
        assert "pip install" not in text, name  # only through the shared install step
        assert "COPY images/requirements.lock images/install-wisehub.sh" in text, name
        assert "RUN sh /tmp/wisehub/install-wisehub.sh" in text, name
        assert "NUMBA_CACHE_DIR=/tmp/numba-cache" in text, name
        user = re.findall(r"^USER\s+(\S+)", text, re.M)[-1]
        assert user.split(":")[0] not in ("root", "0"), name
