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
    """Frame-chunked zstd: each frame is decoded once, and the mean adds bands of the decoded
    frames, as views, to running sums carried from one group of frames to the next; a rechunk
    joined them into tiles first, copying the whole stack, and holding every decoded frame
    for every tile kept the whole stack in memory."""
    path, data = write(tmp_path / "frames.zarr", {"chunks": (1, *SHAPE[1:])})
    stack = open_zarr(path)["data"]
    assert "DecodedArray" in stack.data.name
    added: list[tuple[int, list[np.ndarray]]] = []
    real = combine_module.add_to_mean

    def spy(sums, blocks, first, **kwargs):
        added.append((first, blocks))
        return real(sums, blocks, first, **kwargs)

    monkeypatch.setattr(combine_module, "add_to_mean", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the layout advice
        # Tasks of a third of a frame: groups of 12 MB at most, so each dask chunk (three
        # frames, then one) is a group of its own.
        out = combine(stack, "mean", tile_bytes=data[0].nbytes // 3)
    values = out.values
    np.testing.assert_allclose(values, np.nanmean(data, 0), rtol=1e-6)
    # The same sums in the same order as the one-tile kernel: equal to the bit.
    np.testing.assert_array_equal(values, combine(xr.DataArray(data, dims=stack.dims),
                                                  "mean").values)
    assert stack.data.chunks[0] == (3, 1)
    bands = out.data.numblocks[0]
    assert bands > 1 and out.data.numblocks[1] == 1
    assert sorted(first for first, _ in added) == [0] * bands + [3] * bands  # 2 groups, each band
    # Each task adds a group's frames, not the stack's.
    assert all(sum(b.shape[0] for b in blocks) == (1 if first else 3) for first, blocks in added)
    # Every band of a group is a view of the same decoded frame chunks: nothing was copied.
    by_group: dict[int, list[list[np.ndarray]]] = {}
    for first, blocks in added:
        by_group.setdefault(first, []).append(blocks)
    for first_band, *other_bands in by_group.values():
        assert all(a.base is not None and a.base is b.base for band in other_bands
                   for a, b in zip(first_band, band, strict=True))
