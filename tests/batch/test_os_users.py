"""Batch isolation between real OS accounts (system-users mode): file permissions, not the
library's goodwill, keep one user's jobs from another, even one who claims to be them.

Creates: three OS accounts with unique names (deleted afterwards); ada runs a real job as
her own account. Needs root, as system-users mode does (CI runs as root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from batchtools import WAIT
from hubtools import unique

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create OS accounts")

SUBMIT = """
import json, wisehub as wh
job = wh.batch.submit("math:factorial", 10)
print(json.dumps({"id": job.id, "status": job.wait(WAIT), "result": job.result()}))
""".replace("WAIT", str(WAIT))

ATTACK = """
import json, os, wisehub as wh
from wisehub.batch import UnknownJobError
root, owner, job_id = {root!r}, {owner!r}, {job_id!r}
def attempt(action):
    try:
        return ["allowed", repr(action())]
    except (PermissionError, UnknownJobError) as err:
        return [type(err).__name__, str(err)]
print(json.dumps({{
    "library_job": attempt(lambda: wh.batch.job(job_id).result()),
    "library_list": attempt(lambda: [j.id for j in wh.batch.jobs()]),
    "read_state": attempt(lambda: open(f"{{root}}/{{owner}}/{{job_id}}/state.json").read()),
    "list_owner": attempt(lambda: os.listdir(f"{{root}}/{{owner}}")),
    "list_root": attempt(lambda: os.listdir(root)),
}}))
"""


@pytest.fixture
def accounts() -> Iterator[tuple[Path, list[str]]]:
    """A world-traversable platform directory and three fresh OS accounts."""
    base = Path(tempfile.mkdtemp(prefix="wh-batch-users-", dir="/tmp"))
    base.chmod(0o755)
    (base / "data").mkdir(mode=0o1777)
    (base / "data").chmod(0o1777)
    names = [unique("bu") for _ in range(3)]
    for name in names:
        subprocess.run(["useradd", "--create-home", "--home-dir", str(base / "homes" / name),
                        "--shell", "/bin/sh", name], check=True, capture_output=True)
    try:
        yield base, names
    finally:
        for name in names:
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def as_user(base: Path, name: str, argv: list[str], claim: str | None = None
            ) -> subprocess.CompletedProcess:
    """Run ``argv`` as OS account ``name``; ``claim`` is the WISEHUB_USER it pretends to be."""
    home = base / "homes" / name
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "HOME": str(home), "WISEHUB_DATA_DIR": str(base / "data"),
           "WISEHUB_USER": claim or name,
           "WISEHUB_LINEAGE_DB_URL": f"sqlite:///{home}/lineage.sqlite"}
    return subprocess.run(["runuser", "-u", name, "--", *argv], env=env, cwd=home,
                          capture_output=True, text=True, timeout=WAIT + 120)


@pytest.mark.usefixtures("python_for_everyone")
def test_other_accounts_cannot_reach_a_job_even_claiming_its_owners_name(accounts):
    base, (ada, bob, carol) = accounts
    submitted = as_user(base, ada, [sys.executable, "-c", SUBMIT])
    assert submitted.returncode == 0, submitted.stderr
    job = json.loads(submitted.stdout.strip().splitlines()[-1])
    assert (job["status"], job["result"]) == ("succeeded", 3628800)
    root = base / "data" / "batch"
    state = root / ada / job["id"] / "state.json"
    assert json.loads(state.read_text())["user"] == ada  # as root we can see it is there
    assert oct((root / ada).stat().st_mode & 0o7777) == "0o700"

    attack = ATTACK.format(root=str(root), owner=ada, job_id=job["id"])
    for claim in (None, ada):  # bob as himself, then pretending to be ada
        seen = json.loads(as_user(base, bob, [sys.executable, "-c", attack], claim)
                          .stdout.strip().splitlines()[-1])
        assert seen["read_state"][0] == seen["list_owner"][0] == "PermissionError", seen
        assert seen["list_root"][0] == "PermissionError", seen
        if claim is None:
            assert seen["library_job"][0] == "UnknownJobError" and \
                seen["library_list"] == ["allowed", "[]"], seen
        else:
            assert seen["library_job"][0] == seen["library_list"][0] == "PermissionError"
            assert "does not belong to this account" in seen["library_job"][1]
    cli = as_user(base, bob, [sys.executable, "-m", "wisehub.cli", "batch", "result",
                              job["id"]], claim=ada)
    assert cli.returncode == 2 and "does not belong to this account" in cli.stderr
    assert "3628800" not in cli.stdout

    # Squatting: bob plants carol's directory before she ever submits; she refuses to use it.
    (root / carol).mkdir()
    shutil.chown(root / carol, bob)
    (root / carol).chmod(0o777)
    planted = as_user(base, carol, [sys.executable, "-c", SUBMIT])
    assert planted.returncode != 0 and "does not belong to this account" in planted.stderr
    assert list((root / carol).iterdir()) == []
