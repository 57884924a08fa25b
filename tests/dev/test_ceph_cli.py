"""``wisehub dev ceph up|env|down`` drive a real, detached single-node Ceph.

Starts: its own Ceph (mon, memstore OSD, RGW) on 127.0.0.1 through the CLI, and stops it.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner
from wisehub.config import load_settings
from wisehub.dev.ceph import CephError, start_ceph
from wisehub.dev.cli import app
from wisehub.storage import get_storage

pytestmark = pytest.mark.ceph


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_up_env_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    directory = tmp_path / "ceph"
    up = runner.invoke(app, ["ceph", "up", "--dir", str(directory), "--memory-gib", "1"])
    assert up.exit_code == 0, up.output
    pids = json.loads((directory / "state.json").read_text())["pids"]
    try:
        assert sorted(pids) == ["mon", "osd", "rgw"] and all(map(_alive, pids.values()))
        again = runner.invoke(app, ["ceph", "up", "--dir", str(directory)])
        assert again.exit_code != 0 and "already runs" in str(again.exception)

        env = runner.invoke(app, ["ceph", "env", "--dir", str(directory)])
        assert env.exit_code == 0, env.output
        exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1)
                        for line in env.output.splitlines())
        assert exported["S3_ENDPOINT_URL"] in up.output
        for name, value in exported.items():
            monkeypatch.setenv(name, value)
        store = get_storage(load_settings(data_dir=tmp_path))
        with store.staged("world/hello.txt") as write:
            store.fs.pipe_file(write.url, b"hello")
        assert store.fs.cat(write.result.uri) == b"hello"
    finally:
        down = runner.invoke(app, ["ceph", "down", "--dir", str(directory)])
    assert down.exit_code == 0, down.output
    assert not directory.exists() and not any(map(_alive, pids.values()))
    gone = runner.invoke(app, ["ceph", "env", "--dir", str(directory)])
    assert gone.exit_code != 0 and "wisehub dev ceph up" in str(gone.exception)


def test_missing_ceph_programs_are_named_with_the_fix(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CephError, match="apt-get install ceph-mon"):
        start_ceph(tmp_path / "c")
    assert not (tmp_path / "c").exists()
    assert os.listdir(tmp_path) == []
