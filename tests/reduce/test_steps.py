"""ccdproc-style calibration steps: each checks what it gets and says what is wrong,
records itself, updates units, and stays lazy."""

from __future__ import annotations

import astropy.units as u
import ccdproc
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from astropy.nddata import CCDData
from wisehub.reduce import (
    FlatWarning,
    ReduceError,
    calibrate,
    flat_correct,
    gain_correct,
    subtract_bias,
    subtract_dark,
)


def image(value: float = 100.0, unit: str | None = "adu", shape=(4, 5), **coords) -> xr.DataArray:
    attrs = {} if unit is None else {"units": unit}
    return xr.DataArray(np.full(shape, value, "f4"), dims=("y", "x"), coords=coords,
                        attrs=attrs)


def test_subtract_bias_names_mismatched_units_and_shapes() -> None:
    with pytest.raises(ReduceError, match="unit 'electron' of the uncalibrated image does not "
                                          "match unit 'adu' of the master bias"):
        subtract_bias(image(unit="electron"), image())
    with pytest.raises(ReduceError, match=r"master bias has shape \(4, 4\) but the frames are "
                                          r"\(4, 5\)"):
        subtract_bias(image(), image(shape=(4, 4)))
    with pytest.raises(ReduceError, match="master bias is for CHIP"):
        subtract_bias(image(CHIP="ccd1"), image(CHIP="ccd2"))


def test_subtract_dark_names_the_units_it_expected() -> None:
    with pytest.raises(ReduceError, match="unit 'electron' of the dark does not match unit "
                                          "'adu' of the uncalibrated image; expected 'adu' or "
                                          "'adu / s'"):
        subtract_dark(image(EXPTIME=10.0), image(unit="electron", EXPTIME=1.0))
    with pytest.raises(ReduceError, match="dark has shape"):
        subtract_dark(image(EXPTIME=10.0), image(unit="adu / s", shape=(2, 2)))


def test_flat_correct_refuses_a_flat_with_units() -> None:
    with pytest.raises(ReduceError, match="the flat has unit 'adu'; a flat must be normalised"):
        flat_correct(image(), image(1.0, unit="adu"))
    with pytest.raises(ReduceError, match="the flat is for FILTER"):
        flat_correct(image(FILTER="r"), image(1.0, unit="", FILTER="g"))


def test_gain_correct_refuses_what_is_not_adu() -> None:
    with pytest.raises(ReduceError, match="is in 'electron', not adu"):
        gain_correct(image(unit="electron"), 2.0)
    with pytest.raises(ReduceError, match="gain -1.0 must be a positive number"):
        gain_correct(image(), -1.0)


def test_each_step_records_itself_and_sets_its_unit() -> None:
    raw = image(1000.0, EXPTIME=10.0)
    out = subtract_bias(raw, image(100.0))
    out = subtract_dark(out, image(2.0, unit="adu / s"))
    out = flat_correct(out, image(0.5, unit=""))
    out = gain_correct(out, 2.0)
    steps = [line.split("wisehub.reduce.")[1].split("(")[0] for line in out.attrs["history"]]
    assert steps == ["subtract_bias", "subtract_dark", "flat_correct", "gain_correct"]
    assert out.attrs["units"] == "electron"
    assert float(out.mean()) == pytest.approx((1000 - 100 - 2 * 10) / 0.5 * 2)


def test_steps_match_ccdproc() -> None:
    rng = np.random.default_rng(4)
    raw = xr.DataArray(rng.normal(1000, 20, (6, 7)).astype("f4"), dims=("y", "x"),
                       coords={"EXPTIME": 30.0}, attrs={"units": "adu"})
    bias = image(95.0, shape=(6, 7)) + rng.normal(0, 1, (6, 7)).astype("f4")
    bias.attrs["units"] = "adu"
    dark = xr.DataArray(rng.uniform(0, 0.1, (6, 7)).astype("f4"), dims=("y", "x"),
                        attrs={"units": "adu / s"})
    flat = xr.DataArray(rng.uniform(0.9, 1.1, (6, 7)).astype("f4"), dims=("y", "x"),
                        attrs={"units": ""})
    ours = gain_correct(flat_correct(subtract_dark(subtract_bias(raw, bias), dark), flat), 1.5)
    ref = ccdproc.subtract_bias(CCDData(raw.values, unit="adu"), CCDData(bias.values, unit="adu"))
    ref = ccdproc.subtract_dark(ref, CCDData(dark.values, unit="adu"), dark_exposure=1 * u.s,
                                data_exposure=30 * u.s, scale=True)
    ref = ccdproc.flat_correct(ref, CCDData(flat.values, unit=""), norm_value=1.0)
    ref = ccdproc.gain_correct(ref, 1.5 * u.electron / u.adu)
    np.testing.assert_allclose(ours.values, ref.data, rtol=1e-6)
    assert str(ref.unit) == ours.attrs["units"]


def test_calibrate_returns_one_type_and_computes_nothing_until_asked() -> None:
    def never(block: np.ndarray) -> np.ndarray:
        raise AssertionError("computed while the graph was being built")

    ones = da.ones((4, 5), chunks=(2, 5), dtype="f4")
    lazy_flat = xr.DataArray(ones.map_blocks(never, dtype="f4"), dims=("y", "x"))
    single = calibrate(image(), bias=image(10.0), flat=lazy_flat, gain=2.0)
    stack = calibrate(image().expand_dims("frame"), flat=image(1.0, unit=""), gain=2.0)
    assert isinstance(single, xr.DataArray) and isinstance(stack, xr.DataArray)
    assert single.dims == ("y", "x") and stack.dims == ("frame", "y", "x")
    with pytest.raises(AssertionError, match="computed while"):
        single.compute()


def test_the_flat_check_warns_when_computed() -> None:
    flat = xr.DataArray(da.from_array(np.array([[1.0, 0.0], [np.nan, 1.0]], "f4"), chunks=1),
                        dims=("y", "x"))
    out = flat_correct(image(shape=(2, 2)), flat)
    with pytest.warns(FlatWarning, match="2 pixel"):
        values = out.values
    assert np.isnan(values).tolist() == [[False, True], [True, False]]


def test_master_flat_reads_each_raw_chunk_once() -> None:
    from wisehub.reduce import master_flat

    reads: list[tuple[int, ...]] = []

    def read(block: np.ndarray, block_info: dict) -> np.ndarray:
        reads.append(tuple(block_info[0]["chunk-location"]))
        return block

    rng = np.random.default_rng(3)
    pixels = da.from_array(rng.uniform(1000, 2000, (6, 16, 20)).astype("f4"), chunks=(2, 8, 20))
    flats = xr.DataArray(pixels.map_blocks(read, dtype="f4"), dims=("frame", "y", "x"),
                         coords={"IMAGETYP": ("frame", ["FLAT"] * 6)}, attrs={"units": "adu"})
    flat = master_flat(flats, image(100.0, shape=(16, 20)))
    assert reads == []  # nothing read while the graph is built (the medians included)
    values = flat.values
    assert sorted(reads) == sorted(set(reads)) and len(reads) == pixels.npartitions
    assert float(np.median(values)) == pytest.approx(1.0, abs=1e-6)
