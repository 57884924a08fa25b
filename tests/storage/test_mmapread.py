"""Zero-copy reads of local Zarr: raw chunks reach dask tasks as views of mapped files."""

from __future__ import annotations

import mmap
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.storage.mmapread import MappedArray
from wisehub.storage.zarrio import open_zarr

SHAPE = (8, 1024, 1200)  # 39 MB: stored chunks of 16 MiB and more are a task each


def stack() -> xr.Dataset:
    data = np.random.default_rng(1).normal(100, 5, SHAPE).astype("f4")
    data[0, 0, 0] = np.nan
    return xr.Dataset({"data": (("frame", "y", "x"), data),
                       "exptime": ("frame", np.arange(8.0))})


ENCODINGS = {
    "tiled": {"chunks": (8, 512, 1200), "compressors": None},  # 19.7 MB: a task each
    "ragged": {"chunks": (5, 48, 70), "compressors": None},  # small, partial edges: grouped
    "sharded": {"chunks": (8, 512, 1200), "shards": (8, 1024, 1200), "compressors": None},
    "zstd": {"chunks": (1, 1024, 1200)},  # compressed: zarr decodes it
}


def write(tmp_path: Path, layout: str) -> str:
    path = str(tmp_path / f"{layout}.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stack().to_zarr(path, zarr_format=3, encoding={"data": ENCODINGS[layout]})
    return path


def _mapped_base(block: np.ndarray) -> bool:
    base = block
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def task_blocks_are_mapped(da: xr.DataArray) -> bool:
    def probe(block: np.ndarray) -> np.ndarray:
        return np.full((1,) * block.ndim, _mapped_base(block) and not block.flags.writeable)

    return bool(da.data.map_blocks(probe, chunks=(1,) * da.ndim, dtype=bool).all())


@pytest.mark.parametrize("layout", list(ENCODINGS))
def test_reads_equal_zarrs_own(tmp_path: Path, layout: str) -> None:
    path = write(tmp_path, layout)
    ours = open_zarr(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = xr.open_zarr(path)
    plain["data"] = plain["data"].chunk(dict(zip(ours["data"].dims, ours["data"].chunks,
                                                 strict=True)))  # same tasks, same sums
    xr.testing.assert_identical(ours.compute(), plain.compute())
    for reduce in ("mean", "median", "std"):
        np.testing.assert_array_equal(getattr(ours.data, reduce)("frame").values,
                                      getattr(plain.data, reduce)("frame").values)
    assert ours.data.chunks is not None


@pytest.mark.parametrize("layout", ["tiled", "sharded"])
def test_raw_chunks_reach_tasks_without_a_copy(tmp_path: Path, layout: str) -> None:
    ds = open_zarr(write(tmp_path, layout))
    assert task_blocks_are_mapped(ds.data)


def test_compressed_chunks_still_decode_into_memory(tmp_path: Path) -> None:
    ds = open_zarr(write(tmp_path, "zstd"))
    assert not task_blocks_are_mapped(ds.data)
    np.testing.assert_allclose(ds.data.mean("frame").values,
                               np.nanmean(stack().data.values, 0), rtol=1e-6, equal_nan=True)


def test_chunks_never_written_read_as_the_fill_value(tmp_path: Path) -> None:
    path = write(tmp_path, "ragged")
    for chunk in (Path(path) / "data" / "c" / "0" / "0").iterdir():  # frames 0-4, rows 0-47
        chunk.unlink()
    import zarr

    array = zarr.open_group(path, mode="r")["data"]
    from wisehub.storage.mmapread import chunk_layout

    mapped = MappedArray(str(Path(path) / "data"), array, chunk_layout(array.metadata))
    np.testing.assert_array_equal(mapped[:5, :48, :70], array[:5, :48, :70])
    np.testing.assert_array_equal(mapped[:, :, :], array[:, :, :])
