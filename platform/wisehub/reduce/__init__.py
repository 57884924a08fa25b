"""Dask-scaled CCD reductions on xarray: combine, calibrate, statistics and stacking.

Every function takes and returns xarray objects (lazy and dask-backed), keeps coordinates
and header attributes, and appends what it did to the ``history`` attribute. ccdproc and
astropy are the reference for results; see the tests.

Names resolve on first use, so the CLI and the hub's services, which list or import this
package, start without xarray, dask and numba.

>>> import numpy as np, xarray as xr, wisehub as wh
>>> stack = xr.DataArray(np.ones((3, 4, 4), "f4"), dims=("frame", "y", "x"))
>>> float(wh.reduce.combine(stack, "median").mean())
1.0
"""

from wisehub.lazy import lazy_getattr

_LAZY = {
    "FlatWarning": "wisehub.reduce.steps:FlatWarning",
    "NoValidDataWarning": "wisehub.reduce.frames:NoValidDataWarning",
    "ReduceError": "wisehub.reduce.frames:ReduceError",
    "as_stack": "wisehub.reduce.frames:as_stack",
    "calibrate": "wisehub.reduce.calibration:calibrate",
    "combine": "wisehub.reduce.combination:combine",
    "flat_correct": "wisehub.reduce.steps:flat_correct",
    "frame_statistic": "wisehub.reduce.stats:frame_statistic",
    "gain_correct": "wisehub.reduce.steps:gain_correct",
    "imstat": "wisehub.reduce.stats:imstat",
    "master_bias": "wisehub.reduce.calibration:master_bias",
    "master_dark": "wisehub.reduce.calibration:master_dark",
    "master_flat": "wisehub.reduce.calibration:master_flat",
    "overscan_correct": "wisehub.reduce.calibration:overscan_correct",
    "stack": "wisehub.reduce.coadd:stack",
    "subtract_bias": "wisehub.reduce.steps:subtract_bias",
    "subtract_dark": "wisehub.reduce.steps:subtract_dark",
    "variance": "wisehub.reduce.calibration:variance",
}

__getattr__ = lazy_getattr(globals(), _LAZY)

__all__ = sorted(_LAZY)
