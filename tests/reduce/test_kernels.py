"""The combine kernels on awkward tiles: one pass over NaNs, masks and thresholds, across the
kernel's pixel blocks, and views of memory read in place."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from wisehub.reduce._kernels import (
    _PIXELS,
    MEAN,
    MEDIAN,
    add_to_mean,
    combine_tile,
    finish_mean,
    frame_rows,
    start_mean,
)

NPIX = 2 * _PIXELS + 37  # three pixel blocks, the last one short


def awkward(nframe: int = 7, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.normal(1000.0, 20.0, (nframe, NPIX)).astype(np.float32)
    data[rng.integers(0, nframe, 300), rng.integers(0, NPIX, 300)] = np.nan
    data[rng.integers(0, nframe, 50), rng.integers(0, NPIX, 50)] = np.inf
    data[rng.integers(0, nframe, 50), rng.integers(0, NPIX, 50)] = -np.inf
    data[:, _PIXELS] = np.nan  # nothing valid, on a block edge
    data[1:, _PIXELS - 1] = np.nan  # one valid value
    return data


def expected_mean(data, mask, scale, weights, lower, upper):
    values = data.astype(np.float64) * scale[:, None]
    invalid = ~np.isfinite(data) | (data < lower) | (data > upper) | mask
    w = np.where(invalid, 0.0, np.broadcast_to(weights[:, None], data.shape))
    total = np.where(invalid, 0.0, values * w).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w.sum(0) > 0, total / w.sum(0), np.nan), (~invalid).sum(0)


@pytest.mark.parametrize("case", ["plain", "masked", "thresholds", "scaled", "weighted", "all"])
def test_one_pass_mean_matches_masked_numpy(case: str) -> None:
    data = awkward()
    rng = np.random.default_rng(1)
    mask = rng.random(data.shape) < 0.05 if case in ("masked", "all") else np.zeros(data.shape,
                                                                                      bool)
    lower, upper = (980.0, 1015.0) if case in ("thresholds", "all") else (-np.inf, np.inf)
    scale = np.linspace(0.5, 2.0, 7) if case in ("scaled", "all") else np.ones(7)
    weights = np.arange(1.0, 8.0) if case in ("weighted", "all") else np.ones(7)
    out, count = combine_tile(data, MEAN, mask=mask if mask.any() else None, scale=scale,
                              weights=weights, lower=lower, upper=upper)
    mean, valid = expected_mean(data, mask, scale, weights, lower, upper)
    np.testing.assert_array_equal(count, valid)
    np.testing.assert_allclose(out, mean, rtol=1e-12, equal_nan=True)
    assert np.isnan(out[_PIXELS]) and count[_PIXELS] == 0


@pytest.mark.parametrize("nframe", range(1, 10))
def test_the_plain_mean_adds_frame_after_frame_whatever_the_grouping(nframe: int) -> None:
    """The plain mean adds frames four at a time, then the rest: every remainder must give
    the sums of adding one frame after another in float64, to the bit, in the one-tile kernel
    and across blocks of any size carried from call to call."""
    data = awkward(nframe, seed=nframe)
    sums, counts = np.zeros(NPIX), np.zeros(NPIX, np.int32)
    for frame in data:
        finite = np.isfinite(frame)
        sums += np.where(finite, frame.astype(np.float64), 0.0)
        counts += finite
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(counts > 0, sums / counts, np.nan)
    out, count = combine_tile(data, MEAN)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(count, counts)
    edges = [0, *range(1, nframe, 3), nframe]  # blocks of 1, then 3, frames: fours span them
    blocks = [data[first:last] for first, last in itertools.pairwise(edges)]
    carried = start_mean((NPIX,), nframe)
    add_to_mean(carried, blocks[:2])  # two calls: the sums are carried from one to the next
    add_to_mean(carried, blocks[2:], first=sum(len(block) for block in blocks[:2]))
    np.testing.assert_array_equal(finish_mean(carried, (NPIX,))[0], want)


def test_integers_and_float32_output() -> None:
    raw = np.random.default_rng(2).integers(0, 65535, (9, NPIX), dtype=np.uint16)
    out, count = combine_tile(raw, MEAN, dtype=np.float32)
    assert out.dtype == np.float32 and (count == 9).all()
    np.testing.assert_array_equal(out, raw.mean(0, dtype=np.float64).astype(np.float32))


@pytest.mark.parametrize("method", [MEAN, MEDIAN])
def test_views_are_read_in_place_with_the_same_answer(method: int) -> None:
    chunk = awkward(nframe=6).reshape(6, 1, NPIX).repeat(3, axis=1)  # (frame, row, pixel)
    band = chunk[:, 1:]  # a band of rows: frames are not contiguous
    flat, stride = frame_rows(band)
    assert np.shares_memory(flat, chunk) and stride == 3 * NPIX
    bpm = np.zeros(band.shape[1:], bool)
    bpm[0, :100] = True
    mask = np.broadcast_to(bpm, band.shape)  # one bad-pixel mask for every frame
    mask_flat, mask_stride = frame_rows(mask)
    assert np.shares_memory(mask_flat, bpm) and mask_stride == 0
    got = combine_tile(band, method, mask=mask)
    want = combine_tile(np.ascontiguousarray(band), method, mask=np.ascontiguousarray(mask))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isnan(got[0][0, :100]).all()
