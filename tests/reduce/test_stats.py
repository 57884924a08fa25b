"""imstat() against numpy and astropy.stats on each frame."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.stats import mad_std, sigma_clipped_stats
from wisehub.reduce import frame_statistic, imstat


def test_imstat_matches_astropy_per_frame(stack):
    table = imstat(stack.chunk({"frame": 4})).compute()
    assert table.sizes == {"frame": 15}
    assert list(table["frame"].values) == list(stack["frame"].values)
    assert table["EXPTIME"].values.tolist() == stack["EXPTIME"].values.tolist()
    for i, frame in enumerate(stack.values.astype(np.float64)):
        valid = frame[np.isfinite(frame)]
        cm, cmed, cstd = sigma_clipped_stats(valid, sigma=3.0, maxiters=5)
        expected = dict(npix=valid.size, mean=valid.mean(), median=np.median(valid),
                        stdev=valid.std(), mad_std=mad_std(valid), min=valid.min(),
                        max=valid.max(), clipped_mean=cm, clipped_median=cmed, clipped_stdev=cstd)
        for name, value in expected.items():
            assert float(table[name][i]) == pytest.approx(value, rel=1e-12), name


def test_imstat_section_and_single_statistic(stack):
    region = imstat(stack, section="[5:14,11:20]").compute()
    np.testing.assert_array_equal(region["npix"].values,
                                  np.isfinite(stack.values[:, 10:20, 4:14]).sum(axis=(1, 2)))
    medians = frame_statistic(stack, "median")
    np.testing.assert_allclose(medians, np.nanmedian(stack.values.astype(float), axis=(1, 2)))
    assert "imstat(section='[5:14,11:20]'" in region.attrs["history"][-1]


def test_frames_without_valid_pixels_give_nan(stack):
    stack = stack.copy()
    stack[3] = np.nan
    table = imstat(stack).compute()
    assert float(table["npix"][3]) == 0 and np.isnan(float(table["median"][3]))
    with pytest.raises(ValueError, match="unknown statistic"):
        frame_statistic(stack, "mode")
