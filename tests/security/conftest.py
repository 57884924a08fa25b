"""Fixtures for the attack tests: real second OS users, world-traversable temp dirs, and a
Python every account can run. CI runs as root; these tests need it (useradd, su)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def open_root() -> Iterator[Path]:
    """A world-traversable directory for homes, workspaces and hub state (pytest's are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="wh-sec-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)




@pytest.fixture
def cleanup_accounts() -> Iterator[Callable[[str], str]]:
    """Register OS users and groups to delete after the test: ``forget("ann")``."""
    made: list[str] = []
    yield lambda name: made.append(name) or name
    for name in made:
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        subprocess.run(["groupdel", name], capture_output=True, check=False)
