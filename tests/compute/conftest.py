"""Compute fixtures: one real Dask LocalCluster (2 worker processes on 127.0.0.1), and a
second real OS account for the attack tests."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from distributed import LocalCluster

# The big-stack test exceeds twice this. A worker that has imported the library and Dask holds
# ~310 MiB before its first task, so 450 MiB left too little room under distributed's pause.
WORKER_MEMORY = 600 * 2**20


def compile_kernels() -> None:
    """Compile (and cache) the combine kernels here, before the workers start.

    On a fresh checkout numba has no cache yet; compiling inside a worker of 600 MiB takes
    more memory than it may use, so the nanny would restart it again and again.
    """
    import numpy as np
    import wisehub as wh
    import xarray as xr

    stack = xr.DataArray(np.ones((3, 4, 4), np.float32), dims=("frame", "y", "x"))
    for method in ("mean", "median", "sigma_clip", "minmax"):
        wh.reduce.combine(stack, method).compute(scheduler="sync")


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """Two single-threaded worker processes with a small memory limit each."""
    compile_kernels()
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=WORKER_MEMORY,
                      host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        yield cluster


@dataclass(frozen=True)
class Account:
    """A real OS account made for the tests, and a way to run Python code as it."""

    name: str
    uid: int
    run: Callable[[str], subprocess.CompletedProcess]


@pytest.fixture
def other_account(python_for_everyone: None) -> Iterator[Account]:
    """A second real OS account (made here, removed after) and a way to run Python as it.
    Needs root, as CI has."""
    name = f"whc-{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    home = Path(tempfile.mkdtemp(prefix="whc-home-"))
    entry = pwd.getpwnam(name)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    def run_as(code: str) -> subprocess.CompletedProcess:
        env = {"HOME": str(home), "PATH": os.environ["PATH"],
               "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        return subprocess.run([sys.executable, "-c", code], user=entry.pw_uid,
                              group=entry.pw_gid, extra_groups=[], env=env, cwd=home,
                              capture_output=True, text=True, timeout=120)

    try:
        yield Account(name, entry.pw_uid, run_as)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
