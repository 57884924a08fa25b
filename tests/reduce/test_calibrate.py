"""Calibration against ccdproc's functions on the same frames, and recovery of known truth."""

from __future__ import annotations

import warnings

import astropy.units as u
import ccdproc
import numpy as np
import pytest
import xarray as xr
from astropy.nddata import CCDData
from wisehub.reduce import (
    FlatWarning,
    ReduceError,
    calibrate,
    combine,
    master_bias,
    master_dark,
    master_flat,
    overscan_correct,
    variance,
)

NY, NX, OVERSCAN = 24, 32, 6
BIAS_LEVEL, READ_NOISE_ADU, GAIN = 480.0, 3.0, 2.0
rng = np.random.default_rng(11)
BIAS_STRUCTURE = rng.normal(0.0, 2.0, (1, NX)) + np.linspace(0, 3, NY)[:, None]
FLAT_PATTERN = 1.0 + 0.1 * np.sin(np.linspace(0, 3, NX))[None, :] * np.ones((NY, 1))


def raw_frames(kind: str, n: int, exptime: float = 0.0, signal: float = 0.0,
               seed: int = 0) -> xr.DataArray:
    """uint16 frames with an overscan strip on the right, as the sample camera has."""
    rng = np.random.default_rng(seed)
    image = np.empty((n, NY, NX + OVERSCAN))
    levels = BIAS_LEVEL + rng.normal(0, 4.0, n)  # the bias level drifts per frame
    for i in range(n):
        image[i, :, :NX] = levels[i] + BIAS_STRUCTURE + signal * (1 + 0.2 * i) * FLAT_PATTERN
        image[i, :, NX:] = levels[i]
    image += rng.normal(0.0, READ_NOISE_ADU, image.shape)
    return xr.DataArray(
        np.clip(np.round(image), 0, 65535).astype(np.uint16), dims=("frame", "y", "x"),
        coords={"frame": [f"{kind.lower()}{i}" for i in range(n)],
                "IMAGETYP": ("frame", [kind] * n), "EXPTIME": ("frame", [exptime] * n),
                "FILTER": ("frame", ["r"] * n), "CHIP": ("frame", ["ccd1"] * n),
                "GAIN": ("frame", [GAIN] * n), "RDNOISE": ("frame", [READ_NOISE_ADU * GAIN] * n),
                "BIASSEC": ("frame", [f"[{NX + 1}:{NX + OVERSCAN},1:{NY}]"] * n),
                "TRIMSEC": ("frame", [f"[1:{NX},1:{NY}]"] * n)},
        attrs={"INSTRUME": "testcam"},
    )


def ccd(image: np.ndarray, unit: str = "adu") -> CCDData:
    return CCDData(np.asarray(image), unit=unit)


def test_overscan_and_trim_match_ccdproc():
    raw = raw_frames("BIAS", 3)
    ours = overscan_correct(raw).compute()
    assert ours.shape == (3, NY, NX) and ours.dtype == np.float32
    for i in range(3):
        ref = ccdproc.subtract_overscan(ccd(raw.values[i]), fits_section=raw["BIASSEC"].values[i],
                                        median=True, overscan_axis=1)
        ref = ccdproc.trim_image(ref, fits_section=raw["TRIMSEC"].values[i])
        np.testing.assert_array_equal(ours.values[i], ref.data)  # exact: halves of integers
    assert "BIASSEC" not in ours.coords and "overscan_correct" in ours.attrs["history"][-1]


def test_master_bias_recovers_the_bias_structure():
    bias = master_bias(raw_frames("BIAS", 25)).compute()
    residual = bias.values - (BIAS_STRUCTURE - 0.0)
    assert abs(float(np.mean(residual))) < 0.1  # overscan removed the level
    assert float(np.std(residual)) < 2 * READ_NOISE_ADU / np.sqrt(25)
    assert bias.attrs["IMAGETYP"] == "MASTER_BIAS" and bias["CHIP"].item() == "ccd1"


def test_master_dark_is_dark_current_per_second_like_ccdproc():
    bias = master_bias(raw_frames("BIAS", 9), "mean")
    darks = raw_frames("DARK", 7, exptime=100.0, signal=0.0, seed=3)
    dark_current = np.zeros((NY, NX))
    dark_current[5, 7] = 0.5  # a hot pixel, ADU/s
    darks = darks.copy(data=darks.values + np.pad(
        np.round(dark_current * 100).astype(np.uint16), ((0, 0), (0, OVERSCAN)))[None])
    ours = master_dark(darks, bias, "mean").compute()
    assert ours["EXPTIME"].item() == 1.0
    trimmed = overscan_correct(darks).compute()
    reference = ccdproc.combine([ccdproc.subtract_bias(ccd(f), ccd(bias.values))
                                 for f in trimmed.values], method="average")
    np.testing.assert_allclose(ours.values * 100.0, reference.data, rtol=1e-6, atol=1e-4)
    assert ours.values[5, 7] == pytest.approx(0.5, abs=0.05)


def test_master_flat_is_normalised_and_recovers_the_pattern():
    bias = master_bias(raw_frames("BIAS", 9), "mean")
    flats = raw_frames("FLAT", 6, exptime=5.0, signal=20000.0, seed=5)
    ours = master_flat(flats, bias).compute()
    assert float(np.median(ours.values)) == pytest.approx(1.0, abs=1e-6)
    expected = FLAT_PATTERN / np.median(FLAT_PATTERN)
    np.testing.assert_allclose(ours.values, expected, rtol=3e-3)
    trimmed = overscan_correct(flats).compute()
    corrected = [ccdproc.subtract_bias(ccd(f), ccd(bias.values.astype(np.float32)))
                 for f in trimmed.values]
    ref = ccdproc.combine(corrected, method="median", scale=lambda a: 1 / np.median(a))
    np.testing.assert_allclose(ours.values, ref.data / np.median(ref.data), rtol=1e-6)


def test_calibrate_matches_ccdproc_chain():
    bias = master_bias(raw_frames("BIAS", 9), "mean").compute()
    dark = xr.DataArray(np.full((NY, NX), 0.02, np.float32), dims=("y", "x"),
                        coords={"EXPTIME": 1.0})
    flat = xr.DataArray((FLAT_PATTERN / FLAT_PATTERN.mean()).astype(np.float32), dims=("y", "x"))
    science = raw_frames("SCIENCE", 2, exptime=60.0, signal=3000.0, seed=9)
    ours = calibrate(science, bias=bias, dark=dark, flat=flat).compute()
    assert ours.attrs["units"] == "electron" and ours.sizes["frame"] == 2
    trimmed = overscan_correct(science).compute()
    for i in range(2):
        ref = ccdproc.subtract_bias(ccd(trimmed.values[i]), ccd(bias.values))
        ref = ccdproc.subtract_dark(ref, ccd(dark.values), dark_exposure=1.0 * u.s,
                                    data_exposure=60.0 * u.s, scale=True)
        ref = ccdproc.flat_correct(ref, ccd(flat.values, ""), norm_value=1.0)
        ref = ccdproc.gain_correct(ref, GAIN * u.electron / u.adu)
        np.testing.assert_allclose(ours.values[i], ref.data, rtol=1e-6)
    # the signal put in comes back, in electrons
    level = 3000.0 * GAIN * FLAT_PATTERN.mean() - 0.02 * 60 * GAIN
    assert float(np.median(ours.values[0])) == pytest.approx(level, rel=0.01)


def test_calibrate_variance_plane_and_bad_pixels():
    science = xr.DataArray(np.full((3, 3), 1100.0, np.float32), dims=("y", "x"),
                           coords={"GAIN": 2.0, "RDNOISE": 5.0})
    bias = xr.DataArray(np.full((3, 3), 100.0, np.float32), dims=("y", "x"))
    flat = xr.DataArray(np.full((3, 3), 0.5, np.float32), dims=("y", "x"))
    bpm = xr.DataArray(np.eye(3, dtype=bool), dims=("y", "x"))
    data = calibrate(science, bias=bias, flat=flat, bpm=bpm)
    out = xr.Dataset({"data": data, "variance": variance(data, flat)}).compute()
    assert float(out["data"][0, 1]) == pytest.approx(1000 * 2 / 0.5)
    assert float(out["variance"][0, 1]) == pytest.approx((2000 + 25) / 0.25)
    assert np.isnan(out["data"].values.diagonal()).all()
    assert np.isnan(out["variance"].values.diagonal()).all()


def test_flat_with_zeros_or_negatives_gives_nan_with_a_warning():
    science = xr.DataArray(np.full((2, 3), 10.0, np.float32), dims=("y", "x"))
    flat = xr.DataArray(np.array([[1.0, 0.0, -1.0], [1.0, np.nan, 1.0]], np.float32),
                        dims=("y", "x"))
    with pytest.warns(FlatWarning, match="3 pixel"):
        out = calibrate(science, flat=flat, gain=1.0).compute()
    assert np.isnan(out.values).tolist() == [[False, True, True], [False, True, False]]


def test_dark_scaling_needs_exposure_times():
    dark = xr.DataArray(np.zeros((NY, NX), np.float32), dims=("y", "x"), coords={"EXPTIME": 1.0})
    science = raw_frames("SCIENCE", 2).drop_vars("EXPTIME")
    with pytest.raises(ReduceError, match="EXPTIME"):
        calibrate(science, dark=dark)
    nan_time = raw_frames("SCIENCE", 2).assign_coords(EXPTIME=("frame", [30.0, np.nan]))
    with pytest.raises(ReduceError, match="science1"):
        calibrate(nan_time, dark=dark)
    with pytest.raises(ReduceError, match="EXPTIME"):
        master_dark(raw_frames("DARK", 3).drop_vars("EXPTIME"))
    with pytest.raises(ReduceError, match="dark has no EXPTIME"):
        calibrate(raw_frames("SCIENCE", 2), dark=dark.drop_vars("EXPTIME"))


def test_mismatched_inputs_are_refused():
    science = raw_frames("SCIENCE", 2)
    small = xr.DataArray(np.zeros((NY, NX - 1), np.float32), dims=("y", "x"))
    with pytest.raises(ReduceError, match="shape"):
        calibrate(science, bias=small)
    other_chip = xr.DataArray(np.zeros((NY, NX), np.float32), dims=("y", "x"),
                              coords={"CHIP": "ccd7"})
    with pytest.raises(ReduceError, match="ccd7"):
        calibrate(science, bias=other_chip)
    with pytest.raises(ReduceError, match="IMAGETYP BIAS"):
        master_bias(raw_frames("FLAT", 3))
    mixed = raw_frames("FLAT", 4).assign_coords(FILTER=("frame", ["g", "g", "r", "r"]))
    with pytest.raises(ReduceError, match="mix filters"):
        master_flat(mixed)
    assert master_flat(mixed, filter="g").sizes == {"y": NY, "x": NX}
    with pytest.raises(ReduceError, match="gain"):
        calibrate(science.drop_vars("GAIN"))


def test_flats_without_signal_are_refused():
    flats = raw_frames("FLAT", 3)
    bias = xr.DataArray(np.full((NY, NX), 1000.0, np.float32), dims=("y", "x"))
    with pytest.raises(ReduceError, match="median <= 0"):
        master_flat(flats, bias).compute()  # the levels come out of the same pass


def test_masters_combine_with_any_method():
    frames = raw_frames("BIAS", 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("mean", "median", "sigma_clip", "minmax"):
            assert master_bias(frames, method).compute().dtype == np.float32
    assert "combine(method='minmax'" in master_bias(frames, "minmax").attrs["history"][-1]
    assert combine(overscan_correct(frames), "mean").shape == (NY, NX)
