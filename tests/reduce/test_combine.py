"""combine() against ccdproc and astropy.stats on the same awkward inputs."""

from __future__ import annotations

import warnings

import ccdproc
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from astropy.nddata import CCDData
from astropy.stats import sigma_clip
from reduce_inputs import SATURATE, make_stack
from wisehub.reduce import NoValidDataWarning, ReduceError, combine

RTOL = 1e-6


def ccds(stack: xr.DataArray, mask: np.ndarray | None = None) -> list[CCDData]:
    return [CCDData(frame, unit="adu", mask=None if mask is None else m)
            for frame, m in zip(stack.values, mask if mask is not None else [None] * len(stack),
                                strict=True)]


def assert_same(ours: xr.DataArray, reference: np.ndarray) -> None:
    got = ours.values
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(reference))
    np.testing.assert_allclose(got, reference, rtol=RTOL, equal_nan=True)


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


@pytest.mark.parametrize("method, ccd_method", [("mean", "average"), ("median", "median")])
def test_mean_and_median_match_ccdproc(stack, method, ccd_method):
    ours = quiet(lambda: combine(stack, method, tile_bytes=15 * 4 * 300).compute())
    reference = quiet(ccdproc.combine, ccds(stack), method=ccd_method, dtype=np.float64)
    assert_same(ours, np.where(reference.mask, np.nan, reference.data))
    combiner = quiet(ccdproc.Combiner, ccds(stack), dtype=np.float32)
    via_combiner = quiet(getattr(combiner, f"{ccd_method}_combine"))
    np.testing.assert_allclose(ours.values, via_combiner.data, rtol=RTOL, equal_nan=True)


@pytest.mark.parametrize("cenfunc", ["median", "mean"])
@pytest.mark.parametrize("stdfunc", ["std", "mad_std"])
@pytest.mark.parametrize("maxiters", [1, 3, None])
def test_sigma_clip_matches_astropy(stack, cenfunc, stdfunc, maxiters):
    kw = dict(sigma_lower=2.0, sigma_upper=2.5, maxiters=maxiters, cenfunc=cenfunc,
              stdfunc=stdfunc)
    ours = quiet(lambda: combine(stack, "sigma_clip", **kw).compute())
    clipped = quiet(sigma_clip, stack.values, axis=0, **kw)
    kept = np.ma.masked_array(stack.values.astype(np.float64), clipped.mask)
    assert_same(ours, kept.mean(axis=0).filled(np.nan))


def test_sigma_clip_matches_ccdproc(stack):
    ours = quiet(lambda: combine(stack, "sigma_clip", sigma_lower=2.0, sigma_upper=3.0,
                                 maxiters=1, cenfunc="median", stdfunc="mad_std").compute())
    reference = quiet(ccdproc.combine, ccds(stack), method="average", sigma_clip=True,
                      sigma_clip_low_thresh=2.0, sigma_clip_high_thresh=3.0,
                      sigma_clip_func="median", sigma_clip_dev_func="mad_std")
    assert_same(ours, np.where(reference.mask, np.nan, reference.data))


def test_minmax_matches_ccdproc_clip_extrema():
    stack = make_stack(nframe=9).fillna(7.0)  # ccdproc sorts NaN as the largest value
    ours = combine(stack, "minmax", nlow=2, nhigh=1).compute()
    reference = ccdproc.combine(ccds(stack), method="average", clip_extrema=True, nlow=2,
                                nhigh=1)
    assert_same(ours, reference.data)


def test_minmax_rejects_among_valid_values(stack):
    ours = quiet(lambda: combine(stack, "minmax", nlow=1, nhigh=2).compute())
    values = np.sort(stack.values.astype(np.float64), axis=0)  # NaN sort last
    valid = np.isfinite(values).sum(axis=0)
    expected = np.full(valid.shape, np.nan)
    for (y, x), n in np.ndenumerate(valid):
        if n > 3:
            expected[y, x] = values[1 : n - 2, y, x].mean()
    assert_same(ours, expected)


def test_saturated_and_masked_values_do_not_count(stack):
    bpm = np.zeros(stack.shape[1:], bool)
    bpm[5:8, 10:12] = True
    mask = np.broadcast_to(bpm, stack.shape) | (stack.values >= SATURATE)
    ours = quiet(lambda: combine(stack, "median", saturate=SATURATE,
                                 mask=xr.DataArray(bpm, dims=("y", "x"))).compute())
    reference = quiet(ccdproc.combine, ccds(stack, mask), method="median")
    assert_same(ours, np.where(reference.mask, np.nan, reference.data))
    assert np.isnan(ours.values[5:8, 10:12]).all()


def test_scaling_by_median_matches_ccdproc():
    stack = make_stack(nframe=7) * xr.DataArray(np.linspace(0.5, 2.0, 7), dims="frame")
    stack = stack.astype(np.float32)
    ours = quiet(lambda: combine(stack, "mean", scale="median").compute())
    reference = quiet(ccdproc.combine, ccds(stack), method="average",
                      scale=lambda a: 1.0 / np.nanmedian(a))
    assert_same(ours, np.where(reference.mask, np.nan, reference.data))


def test_weighted_mean(stack):
    weights = np.arange(1.0, 16.0)
    ours = quiet(lambda: combine(stack, "mean", weights=weights).compute())
    data = np.ma.masked_invalid(stack.values.astype(np.float64))
    expected = np.ma.average(data, axis=0, weights=weights).filled(np.nan)
    assert_same(ours, expected)
    clipped = quiet(lambda: combine(stack, "sigma_clip", weights=weights).compute())
    kept = np.ma.masked_array(data, quiet(sigma_clip, stack.values, axis=0).mask | data.mask)
    assert_same(clipped, np.ma.average(kept, axis=0, weights=weights).filled(np.nan))


def test_raw_integers_are_combined_exactly():
    raw = xr.DataArray(np.random.default_rng(0).integers(900, 1100, (6, 8, 9), dtype=np.uint16),
                       dims=("frame", "y", "x"))
    ours = combine(raw, "median").compute()
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours.values, np.median(raw.values, axis=0))


def test_result_keeps_coords_attrs_and_history(stack):
    out = quiet(lambda: combine(stack, "sigma_clip"))
    assert out.dims == ("y", "x")
    assert out["FILTER"].item() == "r"  # equal for every frame: kept
    assert "EXPTIME" not in out.coords  # differs between frames: dropped
    assert out.attrs["INSTRUME"] == "test" and out.attrs["NCOMBINE"] == 15
    assert "combine(method='sigma_clip'" in out.attrs["history"][-1]
    again = quiet(lambda: combine(out.expand_dims(frame=2), "mean"))
    assert len(again.attrs["history"]) == 2


def test_one_task_per_tile_reads_every_frame():
    """Frame-chunked input is rechunked so each combine task holds all frames of a tile."""
    stack = make_stack(nframe=12, ny=64, nx=32).chunk({"frame": 1})
    out = combine(stack, "median", tile_bytes=12 * 4 * 32 * 16)
    assert out.data.chunks == ((16,) * 4, (32,))
    layer = out.data.dask.layers[out.data.name]
    assert len(layer) == 4  # one task per tile, no tree of partial results
    assert [blocks[0] for blocks in layer.numblocks.values()] == [1]  # all frames per task
    np.testing.assert_allclose(quiet(out.compute).values,
                               quiet(np.nanmedian, stack.values, axis=0), rtol=RTOL)


@pytest.mark.parametrize("options", [
    {}, {"weights": np.arange(1.0, 16.0)}, {"scale": np.linspace(0.5, 2.0, 15)},
    {"min_clip": 950.0, "saturate": SATURATE}, {"tile_bytes": 15 * 4 * 7}])
def test_the_mean_of_frame_chunks_equals_the_mean_of_tiles_to_the_bit(stack, options):
    """The mean sums frame-chunked input chunk by chunk, without joining the frames into
    tiles; it must give the very same numbers as the one-tile kernel."""
    frame_chunked = stack.chunk({"frame": 2})
    streamed = quiet(lambda: combine(frame_chunked, "mean", **options))
    assert not any("rechunk" in name for name in streamed.data.dask.layers)
    tiled = quiet(lambda: combine(stack.chunk({"frame": -1}), "mean", **options).values)
    np.testing.assert_array_equal(quiet(streamed.compute).values, tiled)


def test_store_tiles_are_kept_when_already_spatial():
    data = da.zeros((10, 64, 64), dtype=np.float32, chunks=(10, 32, 64))
    out = combine(xr.DataArray(data, dims=("frame", "y", "x")), "mean")
    assert out.data.chunks == ((32, 32), (64,))


def test_all_nan_pixels_give_nan_with_a_warning(stack):
    with pytest.warns(NoValidDataWarning, match="no valid value"):
        out = combine(stack, "mean").compute()
    assert np.isnan(out.values[2, 3])


@pytest.mark.parametrize("frames, message", [
    ([], "empty"),
    (xr.DataArray(np.zeros((0, 4, 4), "f4"), dims=("frame", "y", "x")), "empty"),
    ([xr.DataArray(np.zeros((4, 4), "f4"), dims=("y", "x")),
      xr.DataArray(np.zeros((4, 5), "f4"), dims=("y", "x"))], "shape"),
    ([xr.DataArray(np.zeros((4, 4), "f4"), dims=("y", "x")),
      xr.DataArray(np.zeros((4, 4), "u2"), dims=("y", "x"))], "dtype"),
    (xr.DataArray(np.zeros((2, 4, 4), bool), dims=("frame", "y", "x")), "dtype"),
])
def test_bad_stacks_are_refused(frames, message):
    with pytest.raises(ReduceError, match=message):
        combine(frames)


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="mode"), "unknown method"),
    (dict(method="sigma_clip", sigma=0), "sigma"),
    (dict(method="sigma_clip", maxiters=0), "maxiters"),
    (dict(method="sigma_clip", stdfunc="iqr"), "stdfunc"),
    (dict(weights=[1.0, 0.0, 1.0]), "weights"),
    (dict(method="median", weights=[1.0, 2.0, 1.0]), "weights apply to"),
    (dict(scale=[1.0, 2.0]), "one value per frame"),
    (dict(mask=np.zeros((3, 3), bool)), "does not fit"),
    (dict(saturate="header"), "SATURATE"),
])
def test_bad_parameters_are_refused(kwargs, message):
    stack = xr.DataArray(np.ones((3, 4, 4), "f4"), dims=("frame", "y", "x"))
    with pytest.raises(ReduceError, match=message):
        combine(stack, **kwargs)


def test_scaling_refuses_frames_without_signal():
    stack = xr.DataArray(np.ones((3, 4, 4), "f4"), dims=("frame", "y", "x"),
                         coords={"frame": ["a", "b", "c"]})
    stack[1] = 0.0
    with pytest.raises(ReduceError, match=r"\['b'\]"):
        combine(stack, scale="median").compute()  # levels and combine are one pass
