"""The `wisehub` command: samples, ingest and catalogue commands, and one-line errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from wisehub.samples import SampleSet

WISEHUB = [sys.executable, "-m", "wisehub.cli"]


def run(
    *args: str, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*WISEHUB, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    assert (result.returncode == 0) == ok, result.stderr
    return result


def test_help_lists_the_commands() -> None:
    out = run("--help").stdout
    for command in ("samples", "ingest", "catalog"):
        assert command in out


def test_samples_make_then_ingest_then_catalogue(tmp_path: Path) -> None:
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
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = run(*args, env=env, ok=False)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_data_dir(tmp_path: Path) -> None:
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
