"""Layouts chosen from what the data is for, as ingest and publish write them, and local
compressed chunks decoded in place."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from wisehub.config import Settings, get_settings
from wisehub.storage.layoutadvice import apply_layout, choose_layout
from wisehub.storage.mmapread import ChunkDecodeError, DecodedArray, chunk_layout
from wisehub.storage.zarrio import open_zarr, write_zarr
from zarr.codecs import BloscCodec


@pytest.mark.parametrize("purpose, chunks, level", [
    ("reduce", (64, 32, 2048), None),
    ("read", (1, 2048, 2048), 3),
    ("archive", (1, 2048, 2048), 9),
])
def test_each_purpose_has_its_layout(purpose: str, chunks: tuple, level: int | None) -> None:
    layout = choose_layout(purpose, (64, 2048, 2048), "f4", settings=Settings(data_dir="wh"))
    assert layout.chunks == chunks
    assert (layout.compressors is None) == (level is None)
    if level is not None:
        assert layout.compressors[0].level == level


def test_settings_change_the_choice() -> None:
    settings = Settings(data_dir="wh", chunk_size="4MiB",
                        layouts={"read_zstd_level": 1, "reduce_compressed": True})
    layout = choose_layout("reduce", (64, 2048, 2048), "f4", settings=settings)
    assert layout.chunks == (64, 8, 2048) and layout.compressors[0].level == 1
    with pytest.raises(ValueError, match="purpose"):
        choose_layout("fast", (4, 4), "f4")
    with pytest.raises(ValueError):
        Settings(data_dir="wh", layouts={"ingest": "fast"})


def test_a_given_compressor_is_kept_and_dask_chunks_follow() -> None:
    data = xr.DataArray(np.zeros((6, 40, 30), "f4"), dims=("f", "y", "x")).chunk({"f": 1})
    ds = xr.Dataset({"a": data, "b": data.copy(), "name": ("f", list("abcdef"))})
    ds["b"].encoding["compressors"] = [BloscCodec()]
    out = apply_layout(ds, "reduce")
    assert out["a"].encoding["compressors"] is None and out["a"].chunks == ((6,), (40,), (30,))
    assert isinstance(out["b"].encoding["compressors"][0], BloscCodec)
    assert "chunks" not in out["name"].encoding  # strings keep xarray's own encoding


def test_written_stores_take_the_purposes_layout(tmp_path: Path) -> None:
    ds = xr.Dataset({"data": (("frame", "y", "x"), np.ones((5, 64, 48), "u2"))})
    for purpose, chunks, compressed in (("reduce", (5, 64, 48), False),
                                        ("read", (5, 64, 48), True)):
        url = write_zarr(ds, str(tmp_path / f"{purpose}.zarr"), purpose=purpose)
        array = zarr.open_group(url, mode="r")["data"]
        assert array.chunks == chunks
        assert bool(array.compressors) == compressed
        assert int(open_zarr(url)["data"].sum()) == 5 * 64 * 48


def test_ingest_and_publish_follow_the_settings(tmp_path: Path, monkeypatch) -> None:
    from wisehub.catalog.publish import publish
    from wisehub.ingest import ingest_fits
    from wisehub.samples import make_ccd_fits

    files = make_ccd_fits(tmp_path / "fits", size=48, nights=1, chips=1)
    raw = ingest_fits(files, str(tmp_path / "raw.zarr"))  # default: for reductions
    stored = zarr.open_group(str(tmp_path / "raw.zarr"), mode="r")["data"]
    assert stored.chunks[0] == len(files) and not stored.compressors
    monkeypatch.setenv("WISEHUB_LAYOUTS__INGEST", "archive")
    get_settings.cache_clear()
    try:
        ingest_fits(files, str(tmp_path / "archive.zarr"))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    archived = zarr.open_group(str(tmp_path / "archive.zarr"), mode="r")["data"]
    assert archived.compressors[0].level == 9
    settings = Settings(data_dir=tmp_path, user="ada", layouts={"publish": "reduce"})
    product = publish(raw, "raw", tmp_path / "cat.yaml", privilege="world", settings=settings)
    published = zarr.open_group(product.uri, mode="r")["data"]
    assert published.chunks[0] == len(files) and not published.compressors


@pytest.mark.parametrize("compressors", [None, [BloscCodec(cname="lz4")]])
def test_compressed_chunks_decode_in_place_like_zarr(tmp_path: Path, compressors) -> None:
    data = np.random.default_rng(3).normal(0, 1, (5, 70, 33)).astype("f4")
    encoding = {"chunks": (2, 32, 33), **({"compressors": compressors} if compressors else {})}
    path = str(tmp_path / "c.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.Dataset({"d": (("f", "y", "x"), data)}).to_zarr(path, zarr_format=3,
                                                            encoding={"d": encoding})
    (tmp_path / "c.zarr" / "d" / "c" / "0" / "1" / "0").unlink()  # never written: fill value
    array = zarr.open_group(path, mode="r")["d"]
    reader = DecodedArray(str(tmp_path / "c.zarr" / "d"), array, chunk_layout(array.metadata))
    for key in [(slice(None),) * 3, (slice(0, 2), slice(0, 32)), (1, Ellipsis, 5),
                (slice(1, 4), slice(30, 70), slice(3, 20)), (4,)]:
        np.testing.assert_array_equal(reader[key], array[key])


def _frame_store(tmp_path: Path) -> tuple[DecodedArray, np.ndarray]:
    data = np.random.default_rng(5).normal(100, 5, (3, 512, 1024)).astype("f4")  # 2 MiB frames
    path = str(tmp_path / "f.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.Dataset({"d": (("f", "y", "x"), data)}).to_zarr(
            path, zarr_format=3, encoding={"d": {"chunks": (1, 512, 1024)}})
    array = zarr.open_group(path, mode="r")["d"]
    return DecodedArray(str(tmp_path / "f.zarr" / "d"), array, chunk_layout(array.metadata)), data


def test_decoded_frames_reuse_memory_let_go_but_never_memory_in_use(tmp_path: Path) -> None:
    reader, data = _frame_store(tmp_path)
    first = reader[0:1]
    where = first.__array_interface__["data"][0]
    held = first[0, 10:20]  # a band still read by a task
    del first
    second = reader[1:2]  # decoded while the band of frame 0 is held: other memory
    assert second.__array_interface__["data"][0] != where
    np.testing.assert_array_equal(held, data[0, 10:20])
    np.testing.assert_array_equal(second, data[1:2])
    del held
    third = reader[2:3]  # frame 0's memory is free again, frame 1's is not
    assert third.__array_interface__["data"][0] == where
    np.testing.assert_array_equal(second, data[1:2])
    np.testing.assert_array_equal(third, data[2:3])


def test_a_damaged_chunk_fails_naming_its_file_and_the_others_still_read(
        tmp_path: Path) -> None:
    reader, data = _frame_store(tmp_path)
    damaged = tmp_path / "f.zarr" / "d" / "c" / "1" / "0" / "0"
    damaged.write_bytes(damaged.read_bytes()[:1000])
    with pytest.raises(ChunkDecodeError, match=r"f\.zarr/d/c/1/0/0: this zstd chunk does not"):
        reader[1:2]
    damaged.write_bytes(b"")  # an empty file cannot be mapped: the same error
    with pytest.raises(ChunkDecodeError, match=r"c/1/0/0: this zstd chunk does not decode"):
        reader[1:2]
    np.testing.assert_array_equal(reader[2:3], data[2:3])
