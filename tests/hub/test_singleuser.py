"""The local user server's entry point ends fast and loses nothing on the way out: its exit
status, its output and its ``atexit`` handlers are those of ``jupyterhub.singleuser``. That it
serves users is what every hub test shows (test_up.py also checks that Ctrl-C leaves no
kernel or Dask worker behind); how fast a hub with 50 servers stops is bench_hub's figure.

Starts: the entry point as a child process, with arguments that end it before it listens.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupyterhub

ENTRY = ("import atexit, pathlib, sys\n"
         "marker = pathlib.Path(sys.argv.pop(1))\n"
         "atexit.register(marker.write_text, 'atexit ran')\n"
         "from wisehub.hub.singleuser import serve\n"
         "serve()\n")


def _serve(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, Path]:
    marker = tmp_path / "marker"
    done = subprocess.run([sys.executable, "-c", ENTRY, str(marker), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    return done, marker


def test_a_clean_exit_keeps_its_status_output_and_atexit_handlers(tmp_path):
    done, marker = _serve(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == jupyterhub.__version__
    assert marker.read_text() == "atexit ran"


def test_bad_configuration_fails_with_the_servers_own_message(tmp_path):
    done, marker = _serve(tmp_path, "--ServerApp.port=not-a-port")
    assert done.returncode == 1
    assert "expected an int, not the str 'not-a-port'" in done.stderr
    assert marker.read_text() == "atexit ran"
