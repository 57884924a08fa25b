"""Catalogues: list, search and read through wisehub and through plain intake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wisehub as wh
from wisehub.catalog import CatalogError
from wisehub.resources import catalog_dir
from wisehub.samples import SampleSet

REQUIRED_METADATA = ("title", "description", "licence", "creator", "instrument", "units")
SAMPLE_ENTRIES = {"whcam.raw", "ifu.cube", "hubble.galaxies", "showers.events"}


def test_root_lists_every_entry_with_metadata(sample_set: SampleSet) -> None:
    cat = wh.catalog()
    assert set(cat.names()) >= SAMPLE_ENTRIES
    assert "whcam.raw.s3" in cat  # the S3 template is reachable from the root too
    for name in cat:
        described = cat.describe(name)
        missing = [k for k in REQUIRED_METADATA if not described.get(k)]
        assert not missing, f"{name} lacks {missing}"


def test_search_by_text_instrument_time_and_cone(sample_set: SampleSet) -> None:
    cat = wh.catalog()
    assert cat.search("air shower").names() == ["showers.events"]
    assert cat.search(instrument="wh-ifu").names() == ["ifu.cube"]
    assert set(cat.search(start="2024-03-02", end="2024-03-02T12:00").names()) == {
        "whcam.raw",
        "whcam.raw.s3",
        "ifu.cube",
    }
    assert cat.search(start="2019-06-01", end="2020-02-01").names() == ["showers.events"]
    assert set(cat.search(cone=(150.12, 2.21, 0.01)).names()) == {"whcam.raw", "whcam.raw.s3"}
    assert cat.search(cone=(10.0, -40.0, 1.0)).names() == []
    assert cat.search("raw", instrument="WHCAM", cone=(150.1, 2.2, 0.01)).names() == [
        "whcam.raw",
        "whcam.raw.s3",
    ]


def test_read_is_lazy_with_usable_coordinates(sample_set: SampleSet) -> None:
    raw = wh.catalog()["whcam.raw"].read()
    assert raw.data.chunks is not None  # pixels stay on disk until computed
    biases = raw.data.sel(frame=(raw.IMAGETYP == "BIAS") & (raw.CHIP == "ccd1"))
    level = float(biases.mean())
    truth = sample_set.truth["chips"]["ccd1"]["bias_level"]
    assert min(truth) - 5 < level < max(truth) + 15
    cube = wh.catalog()["ifu.cube"].read()
    assert cube.flux.dims == ("wavelength", "y", "x")


PLAIN_INTAKE = """
import json, sys
import intake
root = intake.from_yaml_file(sys.argv[1])
samples = root["samples"].read()
raw = samples["whcam.raw"].read()
events = samples["showers.events"].read()
print(json.dumps({
    "entries": sorted(samples.entries),
    "shape": list(raw.data.shape),
    "sum": int(raw.data[:5].sum().compute()),
    "events": int(events.sizes["event"]),
    "wisehub_imported": any(m.startswith("wisehub") for m in sys.modules),
}))
"""


def test_plain_intake_reads_the_same_catalogue(sample_set: SampleSet, data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_INTAKE, str(catalog_dir() / "wisehub.yaml")],
        capture_output=True,
        text=True,
        check=True,
        env={"WISEHUB_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
    )
    seen = json.loads(result.stdout)
    assert not seen["wisehub_imported"]
    assert set(seen["entries"]) == SAMPLE_ENTRIES
    raw = wh.catalog()["whcam.raw"].read()
    assert seen["shape"] == list(raw.data.shape)
    assert seen["sum"] == int(raw.data[:5].astype(np.int64).sum())
    assert seen["events"] == sample_set.truth["showers"]["n_events"]


def test_unknown_entry_suggests_names(sample_set: SampleSet) -> None:
    with pytest.raises(CatalogError, match=r"no entry 'whcam.rw'.*did you mean whcam.raw"):
        wh.catalog()["whcam.rw"]


def test_missing_and_garbled_catalogues(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        wh.catalog(tmp_path / "nope.yaml")
    garbled = tmp_path / "garbled.yaml"
    garbled.write_text("version: 2\nentries: [unclosed\n")
    with pytest.raises(CatalogError, match="garbled.yaml is not a valid Intake 2 catalogue"):
        wh.catalog(garbled)
    v1 = tmp_path / "v1.yaml"
    v1.write_text("sources:\n  x:\n    driver: zarr\n    args: {urlpath: x.zarr}\n")
    with pytest.raises(CatalogError, match="v1.yaml is not a valid Intake 2 catalogue"):
        wh.catalog(v1)


def test_entry_without_data_gives_a_clear_error(tmp_path: Path, sample_set: SampleSet) -> None:
    text = (catalog_dir() / "samples.yaml").read_text()
    broken = tmp_path / "samples.yaml"
    broken.write_text(text.replace("{env(WISEHUB_DATA_DIR)}", str(tmp_path / "empty")))
    cat = wh.catalog(broken)
    with pytest.raises(CatalogError, match=r"entry 'whcam.raw'.*could not be read.*samples make"):
        cat["whcam.raw"].read()
