"""A mean from a local uncompressed store reaches the kernel as views of the mapped chunk
files (no copy on the way), and from a zstd store through in-place decoding, with the same
answer as numpy."""

from __future__ import annotations

import mmap
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.reduce import combination as combine_module
from wisehub.reduce import combine
from wisehub.storage.zarrio import open_zarr

SHAPE = (4, 1100, 1024)  # one 18 MB stored chunk: more than a task, so split into bands


def write(path: Path, encoding: dict) -> tuple[str, np.ndarray]:
    data = np.random.default_rng(4).normal(100, 5, SHAPE).astype("f4")
    data[1, 7, 9] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.Dataset({"data": (("frame", "y", "x"), data)}).to_zarr(
            str(path), zarr_format=3, encoding={"data": encoding})
    return str(path), data


def mapped(block: np.ndarray) -> bool:
    base = block
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """Every tile the kernels get."""
    tiles: list[np.ndarray] = []
    real = combine_module.combine_tile

    def spy(data, *args, **kwargs):
        tiles.append(data)
        return real(data, *args, **kwargs)

    monkeypatch.setattr(combine_module, "combine_tile", spy)
    return tiles


def test_mean_of_a_raw_store_reads_mapped_views(tmp_path: Path, seen: list) -> None:
    path, data = write(tmp_path / "tiled.zarr", {"chunks": SHAPE, "compressors": None})
    stack = open_zarr(path)["data"]
    assert len(stack.chunks[1]) == 2  # the stored chunk is read as two bands of rows
    out = combine(stack, "mean")
    assert not any("rechunk" in name for name in out.data.dask.layers)
    np.testing.assert_allclose(out.values, np.nanmean(data, 0), rtol=1e-6)
    assert len(seen) == 2
    assert all(mapped(tile) and not tile.flags.writeable for tile in seen)


def test_mean_of_a_zstd_store_sums_the_decoded_frames_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frame-chunked zstd: each frame is decoded once, and the mean sums bands of the decoded
    frames as views; a rechunk joined them into tiles first, copying the whole stack."""
    path, data = write(tmp_path / "frames.zarr", {"chunks": (1, *SHAPE[1:])})
    stack = open_zarr(path)["data"]
    assert "DecodedArray" in stack.data.name
    summed: list[list[np.ndarray]] = []
    real = combine_module.mean_of_blocks

    def spy(blocks, **kwargs):
        summed.append(blocks)
        return real(blocks, **kwargs)

    monkeypatch.setattr(combine_module, "mean_of_blocks", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the layout advice
        out = combine(stack, "mean")
    values = out.values
    np.testing.assert_allclose(values, np.nanmean(data, 0), rtol=1e-6)
    # The same sums in the same order as the one-tile kernel: equal to the bit.
    np.testing.assert_array_equal(values, combine(xr.DataArray(data, dims=stack.dims),
                                                  "mean").values)
    assert len(summed) == 2  # two bands of rows, each with the blocks of all the frames
    assert all(sum(block.shape[0] for block in blocks) == SHAPE[0] for blocks in summed)
    # Both bands are views of the same decoded frame chunks: nothing was copied into tiles.
    first, second = summed
    assert all(a.base is not None and a.base is b.base for a, b in zip(first, second,
                                                                       strict=True))
