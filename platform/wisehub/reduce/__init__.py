"""Dask-scaled CCD reductions on xarray: combine, calibrate, statistics and stacking.

Every function takes and returns xarray objects (lazy and dask-backed), keeps coordinates
and header attributes, and appends what it did to the ``history`` attribute. ccdproc and
astropy are the reference for results; see the tests.

>>> import numpy as np, xarray as xr, wisehub as wh
>>> stack = xr.DataArray(np.ones((3, 4, 4), "f4"), dims=("frame", "y", "x"))
>>> float(wh.reduce.combine(stack, "median").mean())
1.0
"""

import wisehub.conventions  # noqa: F401  (the .wise accessor on results)
from wisehub.reduce.calibrate import (
    calibrate,
    master_bias,
    master_dark,
    master_flat,
    overscan_correct,
    variance,
)
from wisehub.reduce.coadd import stack
from wisehub.reduce.combine import combine
from wisehub.reduce.frames import NoValidDataWarning, ReduceError, as_stack
from wisehub.reduce.stats import frame_statistic, imstat
from wisehub.reduce.steps import (
    FlatWarning,
    flat_correct,
    gain_correct,
    subtract_bias,
    subtract_dark,
)

__all__ = [
    "FlatWarning",
    "NoValidDataWarning",
    "ReduceError",
    "as_stack",
    "calibrate",
    "combine",
    "flat_correct",
    "frame_statistic",
    "gain_correct",
    "imstat",
    "master_bias",
    "master_dark",
    "master_flat",
    "overscan_correct",
    "stack",
    "subtract_bias",
    "subtract_dark",
    "variance",
]
