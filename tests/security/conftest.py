"""Fixtures for the attack tests: real second OS users, world-traversable temp dirs, and a
Python every account can run. CI runs as root; these tests need it (useradd, su)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# attack (helpers of these tests) lives here; hubtools (shared with the hub tests) in tests/hub.
sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1] / "hub")]

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
def python_for_everyone() -> Iterator[None]:
    """Let other accounts traverse to this Python (e.g. a pyenv under a 0700 /root).

    System-user mode needs an interpreter every user can run; a real installation puts it
    under /opt or /usr/local. Here the missing search (x) bits are added, then taken away.
    """
    changed = []
    base = Path(sys.base_prefix).resolve()
    for folder in [*base.parents, base, Path(sys.prefix).resolve()]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)
            changed.append((folder, mode))
    try:
        yield
    finally:
        for folder, mode in changed:
            folder.chmod(mode)


@pytest.fixture
def cleanup_accounts() -> Iterator[Callable[[str], str]]:
    """Register OS users and groups to delete after the test: ``forget("ann")``."""
    made: list[str] = []
    yield lambda name: made.append(name) or name
    for name in made:
        subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        subprocess.run(["groupdel", name], capture_output=True, check=False)
