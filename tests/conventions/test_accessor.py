"""The .wise accessor: one place for WCS, units and the product link, kept through reductions."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import xarray as xr
from astropy.wcs import WCS
from wisehub.conventions import WCSError
from wisehub.ingest import read_cube_fits
from wisehub.reduce import calibrate, combine, master_bias, stack
from wisehub.samples.ifu import make_cube


def sky(crval: float = 150.0) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval, w.wcs.crpix, w.wcs.cdelt = [crval, 2.0], [8, 8], [-1e-4, 1e-4]
    return w


def frames(n: int = 3, headers: list[str] | None = None, kind: str = "SCIENCE") -> xr.DataArray:
    headers = headers or [sky().to_header().tostring()] * n
    return xr.DataArray(np.full((n, 16, 16), 300, "u2"), dims=("frame", "y", "x"),
                        coords={"frame": [f"f{i}" for i in range(n)], "WCSHDR": ("frame", headers),
                                "IMAGETYP": ("frame", [kind] * n), "GAIN": ("frame", [2.0] * n)},
                        attrs={"units": "adu"})


def test_wcs_survives_arithmetic_selection_combine_and_calibration() -> None:
    raw = frames()
    assert raw.wise.wcs.wcs.crval.tolist() == [150.0, 2.0]
    assert (raw.isel(frame=0) * 2.0 - 1).wise.wcs.wcs.crval.tolist() == [150.0, 2.0]
    assert combine(raw, "median").wise.wcs.wcs.crval.tolist() == [150.0, 2.0]
    bias = master_bias(frames(kind="BIAS"))
    calibrated = calibrate(raw, bias=bias)
    assert calibrated.wise.wcs.wcs.crval.tolist() == [150.0, 2.0]
    assert calibrated.isel(frame=1).wise.frame_wcs().wcs.crval.tolist() == [150.0, 2.0]


def test_frames_with_different_wcs_need_one_frame_chosen() -> None:
    raw = frames(2, [sky(150.0).to_header().tostring(), sky(151.0).to_header().tostring()])
    with pytest.raises(WCSError, match="different WCSs"):
        _ = raw.wise.wcs
    assert raw.wise.frame_wcs(1).wcs.crval[0] == 151.0
    assert raw.wise.frame_wcs("f0").wcs.crval[0] == 150.0
    coadd = stack(raw.astype("f4"), wcs=sky(150.5), shape=(16, 16))
    assert coadd.wise.wcs.wcs.crval[0] == 150.5  # the coadd's own grid, one WCS


def test_units_follow_calibration() -> None:
    raw = frames()
    bias = master_bias(frames(kind="BIAS"))
    assert raw.wise.unit == u.adu and bias.wise.unit == u.adu
    assert calibrate(raw, bias=bias).wise.unit == u.electron
    assert "BUNIT" not in calibrate(raw, bias=bias).attrs  # one convention, not two


def test_cube_wcs_and_units_are_in_the_same_places(tmp_path: Path) -> None:
    path = tmp_path / "cube.fits"
    make_cube(8, 20.0, 0.03, seed=1).writeto(path)
    cube = read_cube_fits(path)
    assert cube.wise.wcs.has_celestial and cube["flux"].wise.wcs.has_celestial
    assert cube["flux"].wise.unit is not None and "wcs" not in cube.attrs


def test_product_link_reaches_the_image() -> None:
    ds = xr.Dataset({"data": (("y", "x"), np.zeros((2, 2)))}).wise.with_pid("p-42")
    assert ds.wise.pid == "p-42" and ds.wise.image.wise.pid == "p-42"
    assert ds["data"].wise.pid == "p-42"
    with pytest.raises(ValueError, match="none is called 'data'"):
        _ = xr.Dataset({"a": ("x", [1]), "b": ("x", [2])}).wise.image


def test_a_reduction_is_not_the_product_it_was_made_from() -> None:
    linked = frames().wise.with_pid("raw-1")
    assert linked.wise.pid == "raw-1"
    assert combine(linked).wise.pid is None and calibrate(linked).wise.pid is None
