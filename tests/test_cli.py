"""The `wisehub` command: samples, ingest and catalogue commands, and one-line errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import xarray as xr
from wisehub.config import get_settings
from wisehub.lineage import set_default_store
from wisehub.samples import SampleSet

WISEHUB = [sys.executable, "-m", "wisehub.cli"]

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*args, env=..., ok=True)``: the ``wisehub`` command's entry point (``main``) with
    those arguments and extra environment, in this interpreter; its exit code and output.

    A new process would spend seconds of CPU importing what this one has imported already;
    ``test_the_command_runs_as_its_own_process`` runs the real ``python -m wisehub.cli``.
    """
    from wisehub.cli import main

    def invoke(*args: str, env: dict[str, str] | None = None, ok: bool = True
               ) -> subprocess.CompletedProcess:
        capsys.readouterr()
        with monkeypatch.context() as mp:
            for name, value in (env or {}).items():
                mp.setenv(name, value)
            mp.setattr(sys, "argv", ["wisehub", *args])
            get_settings.cache_clear()
            set_default_store(None)
            try:
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
            finally:
                set_default_store(None)
                get_settings.cache_clear()
        out, err = capsys.readouterr()
        assert (code == 0) == ok, err
        return subprocess.CompletedProcess(["wisehub", *args], code, out, err)

    return invoke


def test_the_command_runs_as_its_own_process() -> None:
    result = subprocess.run([*WISEHUB, "catalog", "show", "nope"], capture_output=True,
                            text=True, env=os.environ, timeout=300)
    assert result.returncode == 2
    assert "no entry 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_help_lists_the_commands(run: Run) -> None:
    out = run("--help").stdout
    for command in ("samples", "ingest", "catalog"):
        assert command in out


def test_samples_make_then_ingest_then_catalogue(run: Run, tmp_path: Path) -> None:
    env = {"WISEHUB_DATA_DIR": str(tmp_path / "data")}
    made = run(
        "samples",
        "make",
        "--size",
        "40",
        "--nights",
        "1",
        "--chips",
        "1",
        "--events",
        "1000",
        env=env,
    )
    assert "samples ready" in made.stdout
    samples = tmp_path / "data" / "samples"
    assert xr.open_zarr(samples / "raw.zarr").sizes["frame"] == 17
    files = sorted(str(p) for p in (samples / "fits" / "raw").rglob("*.fits"))
    out = run("ingest", *files[:5], "--to", str(tmp_path / "five.zarr"), env=env)
    assert "ingested 5 frames" in out.stdout
    assert "registered 5 raw frame(s)" in out.stdout
    assert xr.open_zarr(tmp_path / "five.zarr").sizes["frame"] == 5
    with sqlite3.connect(tmp_path / "data" / "lineage.sqlite") as db:
        rows = db.execute("SELECT name FROM products WHERE type = 'RawFrame' AND data_uri = ?",
                          (str(tmp_path / "five.zarr"),)).fetchall()
    assert len(rows) == 5  # besides the sample frames `samples make` registered
    listed = run("catalog", "list", env=env).stdout
    assert "whcam.raw" in listed and "showers.events" in listed
    assert '"instrument": "WH-IFU"' in run("catalog", "show", "ifu.cube", env=env).stdout
    found = run("catalog", "search", "--cone", "150.1,2.2,0.05", env=env).stdout
    assert "whcam.raw" in found and "ifu.cube" not in found


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("catalog", "show", "nope"), {}, "no entry 'nope'"),
        (("catalog", "list", "--catalog", "/nonexistent.yaml"), {}, "does not exist"),
        (("catalog", "list"), {"WISEHUB_MODE": "cloud"}, "WISEHUB_MODE"),
        (("ingest", "/nonexistent.fits", "--to", "/tmp/x.zarr"), {}, "no such file"),
    ],
)
def test_bad_input_is_one_clear_line(
    run: Run, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = run(*args, env=env, ok=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_data_dir(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run("samples", "make", env={"WISEHUB_DATA_DIR": str(blocker / "d")}, ok=False)
    assert "not writable" in result.stderr and "Traceback" not in result.stderr


def test_samples_are_reused_not_remade(sample_set: SampleSet) -> None:
    from wisehub.samples import make_samples

    again = make_samples(sample_set.path, **sample_set.truth["params"])
    assert again.path == sample_set.path
    with pytest.raises(FileExistsError, match="pass overwrite"):
        make_samples(sample_set.path, size="tiny", nights=1, chips=1)
