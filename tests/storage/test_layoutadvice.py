"""A combine that meets a frame-chunked store says once which layout to use."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from wisehub.reduce import combine
from wisehub.storage.layoutadvice import LayoutWarning
from wisehub.storage.zarrio import open_zarr
from zarr.codecs import ZstdCodec


def store(tmp_path: Path, encoding: dict) -> xr.DataArray:
    data = np.random.default_rng(0).normal(10, 1, (6, 32, 40)).astype("f4")
    path = str(tmp_path / "s.zarr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xr.Dataset({"data": (("frame", "y", "x"), data)}).to_zarr(
            path, zarr_format=3, encoding={"data": encoding})
    return open_zarr(path)["data"]


def test_frame_chunked_zstd_warns_once_with_the_layout_to_use(tmp_path: Path) -> None:
    stack = store(tmp_path, {"chunks": (1, 32, 40), "compressors": [ZstdCodec(level=1)]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # what users see: once per place
        for _ in range(3):
            combine(stack, "mean")
    advice = [w for w in caught if issubclass(w.category, LayoutWarning)]
    assert len(advice) == 1
    message = str(advice[0].message)
    assert "one frame per chunk, compressed" in message
    assert "chunks=(6, 32, 40)" in message and "compressors=None" in message


def test_a_tiled_uncompressed_store_gets_no_advice(tmp_path: Path) -> None:
    stack = store(tmp_path, {"chunks": (6, 16, 40), "compressors": None})
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        result = combine(stack, "mean").compute()
    np.testing.assert_allclose(result.values, stack.values.mean(0), rtol=1e-6)


@pytest.mark.parametrize("frames", [1])
def test_a_single_frame_is_never_advised(frames: int) -> None:
    stack = xr.DataArray(np.zeros((frames, 4, 4), "f4"), dims=("frame", "y", "x"))
    stack.encoding = {"chunks": (1, 4, 4), "compressors": ("zstd",)}
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayoutWarning)
        combine(stack, "mean").compute()
