"""WCS stacking against reproject's own in-memory coadd, and star positions recovered."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from astropy.wcs import WCS
from reproject import reproject_interp
from reproject.mosaicking import reproject_and_coadd
from wisehub.reduce import ReduceError, stack

SIDE = 48
STARS = [(150.0004, 2.0003, 800.0), (149.9996, 1.9997, 500.0), (150.0001, 1.9995, 300.0)]
DITHERS = [(0.0, 0.0), (3.4, -2.2), (-4.1, 1.7), (2.6, 4.3), (-1.5, -3.8)]


def frame_wcs(dx: float, dy: float) -> WCS:
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [SIDE / 2 + dx, SIDE / 2 + dy]
    w.wcs.cdelt = [-0.2 / 3600, 0.2 / 3600]
    return w


def render(w: WCS) -> np.ndarray:
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(float)
    image = np.full((SIDE, SIDE), 10.0)
    for ra, dec, flux in STARS:
        x, y = w.world_to_pixel_values(ra, dec)
        image += flux * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.8**2))
    return image.astype(np.float32)


@pytest.fixture(scope="module")
def dithered() -> xr.DataArray:
    wcss = [frame_wcs(dx, dy) for dx, dy in DITHERS]
    data = np.stack([render(w) for w in wcss])
    data[1, 20, 20] += 5000.0  # a cosmic ray in one exposure
    return xr.DataArray(data, dims=("frame", "y", "x"),
                        coords={"frame": [f"e{i}" for i in range(len(DITHERS))],
                                "FILTER": ("frame", ["g"] * len(DITHERS)),
                                "WCSHDR": ("frame", [w.to_header().tostring() for w in wcss])})


def test_mean_stack_equals_reproject_and_coadd(dithered):
    grid = frame_wcs(0, 0)
    ours = stack(dithered, "mean", wcs=grid, shape=(SIDE, SIDE)).compute()
    inputs = [(dithered.values[i].astype(float), frame_wcs(*d)) for i, d in enumerate(DITHERS)]
    ref, footprint = reproject_and_coadd(inputs, grid, shape_out=(SIDE, SIDE),
                                         reproject_function=reproject_interp,
                                         combine_function="mean")
    covered = footprint > 0
    np.testing.assert_allclose(ours.values[covered], ref[covered], rtol=1e-5)
    assert np.isnan(ours.values[~covered]).all()
    assert ours.attrs["NEXPOSURE"] == 5 and ours["FILTER"].item() == "g"
    assert ours.wise.wcs.wcs.crval.tolist() == [150.0, 2.0]


def test_sigma_clipped_stack_rejects_the_cosmic_ray_and_keeps_stars(dithered):
    grid = frame_wcs(0, 0)
    clipped = stack(dithered, "sigma_clip", wcs=grid, shape=(SIDE, SIDE), stdfunc="mad_std",
                    maxiters=None).compute()
    mean = stack(dithered, "mean", wcs=grid, shape=(SIDE, SIDE)).compute()
    x, y = grid.world_to_pixel(frame_wcs(*DITHERS[1]).pixel_to_world(20, 20))
    hit = round(float(y)), round(float(x))
    background = render(grid)[hit]
    assert mean.values[hit] - background > 100  # the mean keeps the cosmic ray
    assert abs(clipped.values[hit] - background) < 5  # the clipped stack does not
    clean = render(grid)
    for ra, dec, _ in STARS:  # centroids agree with those of the noise-free sky
        x, y = grid.world_to_pixel_values(ra, dec)
        box = slice(round(float(y)) - 4, round(float(y)) + 5), slice(round(float(x)) - 4,
                                                                     round(float(x)) + 5)
        assert centroid(clipped.values[box]) == pytest.approx(centroid(clean[box]), abs=0.05)


def centroid(patch: np.ndarray) -> tuple[float, float]:
    weight = patch - 10.0
    yy, xx = np.mgrid[0 : patch.shape[0], 0 : patch.shape[1]]
    return float((weight * yy).sum() / weight.sum()), float((weight * xx).sum() / weight.sum())


def test_default_grid_covers_every_frame(dithered):
    out = stack(dithered)
    assert out.shape[0] >= SIDE and out.shape[1] >= SIDE
    assert "stack(resample='interp'" in out.attrs["history"][-1]


def test_frames_without_wcs_are_refused(dithered):
    with pytest.raises(ReduceError, match="WCSHDR"):
        stack(dithered.drop_vars("WCSHDR"))
    with pytest.raises(ReduceError, match="shape"):
        stack(dithered, wcs=frame_wcs(0, 0))
