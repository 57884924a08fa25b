"""Helpers of the attack tests: run as a second real OS user, snapshot what must not change."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creates OS users (CI runs as root)")


def unique_name(prefix: str) -> str:
    """A user or group name no other test uses (and valid under wisehub.names)."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def as_user(name: str, script: str) -> subprocess.CompletedProcess:
    """Run a shell ``script`` as the OS user ``name`` (a real second user)."""
    return subprocess.run(["runuser", "-u", name, "--", "sh", "-c", script],
                          capture_output=True, text=True, check=False, timeout=60)


def snapshot(root: Path) -> dict[str, tuple]:
    """Owner, mode and content of everything under ``root`` (links not followed)."""
    seen = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        content = (os.readlink(path) if path.is_symlink() else
                   path.read_bytes() if path.is_file() else None)
        seen[str(path)] = (info.st_uid, info.st_gid, info.st_mode, content)
    return seen
