"""The share-sync service ends on the first SIGINT or SIGTERM, even when it was started with
SIGINT ignored (as everything under a shell's background job is).

Starts: the share-sync service as its own process, pointed at a closed port, so it keeps
retrying until it is stopped. No hub is needed for this.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from wisehub.hub import sharesync
from wisehub.hub.ports import free_port


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_share_sync_stops_on_the_first_signal(tmp_path: Path, signum: int) -> None:
    env = {**os.environ, "JUPYTERHUB_API_URL": f"http://127.0.0.1:{free_port()}/hub/api",
           "JUPYTERHUB_API_TOKEN": "unused"}
    proc = subprocess.Popen(
        [sys.executable, str(Path(sharesync.__file__)), "--interval=0.2",
         f"--state={tmp_path / 'share-sync.json'}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        for line in proc.stdout:  # running: it failed to reach the hub and retries
            if "sync failed, retrying" in line:
                break
        proc.send_signal(signum)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "stopped" in output
