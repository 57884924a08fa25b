"""publish() on a local disk: data first, then the catalogue entry; nothing half-done."""

from __future__ import annotations

from pathlib import Path

import intake
import numpy as np
import pytest
import wisehub as wh
import xarray as xr
import yaml
from wisehub.catalog.publish import PublishError, publish
from wisehub.config import Settings
from wisehub.storage import Storage


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", user="ada", groups=["lab"])


def image(seed: int = 0) -> xr.Dataset:
    data = np.random.default_rng(seed).normal(100, 5, (2, 16, 24)).astype(np.float32)
    return xr.Dataset({"data": (("frame", "y", "x"), data)},
                      coords={"frame": ["a", "b"], "FILTER": ("frame", ["r", "g"])},
                      attrs={"INSTRUME": "WHCAM"}).chunk({"frame": 1})


def test_published_dataset_reads_back_through_plain_intake_and_wisehub(
        settings: Settings, tmp_path: Path) -> None:
    ds = image()
    catalog = tmp_path / "cat" / "products.yaml"
    stored = publish(ds, "night.master", catalog, privilege="group", settings=settings,
                     metadata={"instrument": "WHCAM", "units": "adu", "product_id": "p-1"})
    assert stored.uri.startswith(str(settings.data_dir / "products" / "groups" / "lab"))
    back = intake.from_yaml_file(str(catalog))["night.master"].read()
    xr.testing.assert_identical(back.compute(), ds.compute())
    assert back["data"].chunks is not None  # lazy, dask-backed
    entry = wh.catalog(catalog, settings=settings)["night.master"]
    assert entry.metadata["checksum"] == stored.checksum
    assert entry.metadata["product_id"] == "p-1" and entry.metadata["owner"] == "ada"
    assert Storage.local(str(settings.data_dir / "products")).checksum(stored.uri) == (
        stored.checksum, stored.size)


def test_entries_accumulate_and_names_are_never_replaced(settings: Settings,
                                                         tmp_path: Path) -> None:
    catalog = tmp_path / "products.yaml"
    first = publish(image(0), "a", catalog, settings=settings)
    publish(image(1)["data"], "b", catalog, settings=settings)
    with pytest.raises(PublishError, match="already has an entry 'a'"):
        publish(image(2), "a", catalog, settings=settings)
    cat = intake.from_yaml_file(str(catalog))
    assert sorted(cat.entries) == ["a", "b"]
    assert cat["a"].read().identical(xr.open_zarr(first.uri))
    stored = (settings.data_dir / "products/private/ada").glob("*.zarr")
    assert sorted(p.name.split("-")[0] for p in stored) == ["a", "b"]


def test_a_failed_write_registers_nothing(settings: Settings, tmp_path: Path) -> None:
    catalog = tmp_path / "products.yaml"
    publish(image(), "kept", catalog, settings=settings)
    before = catalog.read_text()
    def fail_on_second_frame(block: np.ndarray, block_info: dict) -> np.ndarray:
        if block_info[0]["chunk-location"][0] == 1:
            raise RuntimeError("the disk went away")
        return block

    broken = image()
    broken["data"] = (broken["data"].dims,
                      broken["data"].data.map_blocks(fail_on_second_frame, dtype=np.float32))
    with pytest.raises(RuntimeError, match="the disk went away"):
        publish(broken, "broken", catalog, settings=settings)
    assert catalog.read_text() == before
    products = settings.data_dir / "products" / "private" / "ada"
    assert [p.name.split("-")[0] for p in products.glob("*.zarr")] == ["kept"]
    assert not list(products.glob(".staging/*"))


@pytest.mark.parametrize(("text", "problem"), [
    ("version: 1\nsources: {}\n", "not an Intake 2 catalogue"),
    ("- version: 2\n", "not an Intake 2 catalogue"),
    ("version: 2\n\tsecret_key: hunter2\n", r"not valid YAML \(.*line 2, column 1\)"),
])
def test_a_broken_catalogue_loses_no_data_and_says_so(settings: Settings, tmp_path: Path,
                                                      text: str, problem: str) -> None:
    catalog = tmp_path / "products.yaml"
    catalog.write_text(text)
    with pytest.raises(PublishError, match=problem) as refused:
        publish(image(), "x", catalog, settings=settings)
    assert "hunter2" not in str(refused.value)  # where, not what: the line may hold a secret
    assert catalog.read_text() == text
    assert not (settings.data_dir / "products").exists()


@pytest.mark.parametrize("name", ["", "../x", "a b", "-x"])
def test_bad_names_are_refused(settings: Settings, tmp_path: Path, name: str) -> None:
    with pytest.raises(PublishError, match="invalid entry name"):
        publish(image(), name, tmp_path / "c.yaml", settings=settings)


def test_the_catalogue_holds_valid_yaml_without_anchors(settings: Settings,
                                                        tmp_path: Path) -> None:
    catalog = tmp_path / "products.yaml"
    for name in ("a", "b"):
        publish(image(), name, catalog, settings=settings)
    text = catalog.read_text()
    assert "&id" not in text and yaml.safe_load(text)["version"] == 2


def test_the_catalogue_is_what_intake_itself_writes(settings: Settings, tmp_path: Path) -> None:
    catalog = tmp_path / "products.yaml"
    for name in ("a", "b"):
        publish(image(), name, catalog, settings=settings, metadata={"title": f"Ünïcode {name}"})
    by_intake = intake.from_yaml_file(str(catalog))
    for parameter in ("CATALOG_DIR", "CATALOG_PATH", "STORAGE_OPTIONS"):
        by_intake.user_parameters.pop(parameter)
    by_intake.to_yaml_file(str(tmp_path / "again.yaml"))
    assert catalog.read_text() == (tmp_path / "again.yaml").read_text()
    assert intake.from_yaml_file(str(catalog))["b"].metadata["title"] == "Ünïcode b"
