"""Per-frame image statistics ("imstat"), kept with every frame as Astro-WISE does.

Each task reads whole frames (a few per task) and computes every statistic of them in one
pass over memory; clipped statistics are astropy's ``sigma_clipped_stats``.

>>> import numpy as np, xarray as xr
>>> stack = xr.DataArray(np.arange(8, dtype="f4").reshape(2, 2, 2), dims=("frame", "y", "x"))
>>> imstat(stack)["median"].values.tolist()
[1.5, 5.5]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import dask.array as da
import numpy as np
import xarray as xr
from astropy.stats import mad_std, sigma_clipped_stats

from wisehub.config import get_settings
from wisehub.reduce.frames import FRAME, as_stack
from wisehub.reduce.history import add_history
from wisehub.reduce.sections import section_slices

STATISTICS = ("npix", "mean", "median", "stdev", "mad_std", "min", "max",
              "clipped_mean", "clipped_median", "clipped_stdev")
_CLIPPED = {"clipped_mean", "clipped_median", "clipped_stdev"}


def _frame_values(frame: np.ndarray, names: Sequence[str], sigma: float,
                  maxiters: int) -> list[float]:
    values = frame[np.isfinite(frame)].astype(np.float64, copy=False).ravel()
    if values.size == 0:
        return [0.0 if n == "npix" else np.nan for n in names]
    found = {"npix": float(values.size)}
    if "mean" in names:
        found["mean"] = float(values.mean())
    if "stdev" in names:
        found["stdev"] = float(values.std())
    if {"median", "mad_std"} & set(names):
        found["median"] = float(np.median(values))
        found["mad_std"] = float(mad_std(values)) if "mad_std" in names else np.nan
    if "min" in names:
        found["min"], found["max"] = float(values.min()), float(values.max())
    if _CLIPPED & set(names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cm, cmed, cstd = sigma_clipped_stats(values, sigma=sigma, maxiters=maxiters)
        found.update(clipped_mean=cm, clipped_median=cmed, clipped_stdev=cstd)
    return [float(found[n]) for n in names]


def _stats_block(block: np.ndarray, names: tuple[str, ...], region: tuple[slice, slice],
                 sigma: float, maxiters: int) -> np.ndarray:
    return np.array([_frame_values(frame[region], names, sigma, maxiters) for frame in block],
                    dtype=np.float64).reshape(len(block), len(names))


def _stat_array(stack: xr.DataArray, names: tuple[str, ...], section: str | None,
                sigma: float, maxiters: int) -> da.Array:
    data = stack.data if isinstance(stack.data, da.Array) else da.from_array(stack.values)
    frame_bytes = stack.shape[1] * stack.shape[2] * stack.dtype.itemsize
    per_task = max(1, int(get_settings().chunk_size) // frame_bytes)
    data = data.rechunk((per_task, -1, -1))
    region = section_slices(section) if section else (slice(None), slice(None))
    return data.map_blocks(_stats_block, names, region, sigma, maxiters, dtype=np.float64,
                           drop_axis=(1, 2), new_axis=1,
                           chunks=(data.chunks[0], (len(names),)))


def per_frame(frames: xr.DataArray, stat: str, section: str | None = None) -> da.Array:
    """One statistic of every frame as a lazy dask array, to compute together with what
    uses it (e.g. medians to scale flats), so the frames are read once.

    >>> import numpy as np, xarray as xr
    >>> stack = xr.DataArray(np.ones((3, 4, 4), "f4"), dims=("frame", "y", "x"))
    >>> per_frame(stack, "median").compute().tolist()
    [1.0, 1.0, 1.0]
    """
    if stat not in STATISTICS:
        raise ValueError(f"unknown statistic {stat!r}; choose one of {STATISTICS}")
    return _stat_array(as_stack(frames, "imstat"), (stat,), section, 3.0, 5)[:, 0]


def frame_statistic(frames: xr.DataArray, stat: str, section: str | None = None) -> np.ndarray:
    """One statistic of every frame, computed now (:func:`per_frame`, computed).

    >>> import numpy as np, xarray as xr
    >>> stack = xr.DataArray(np.ones((3, 4, 4), "f4"), dims=("frame", "y", "x"))
    >>> frame_statistic(stack, "median").tolist()
    [1.0, 1.0, 1.0]
    """
    return per_frame(frames, stat, section).compute()


def imstat(frames: xr.DataArray | Sequence[xr.DataArray], section: str | None = None,
           sigma: float = 3.0, maxiters: int = 5) -> xr.Dataset:
    """Statistics of each frame as a lazy Dataset along ``frame``.

    Variables: ``npix`` (finite pixels), ``mean``, ``median``, ``stdev``, ``mad_std``,
    ``min``, ``max`` and the sigma-clipped ``clipped_mean``/``clipped_median``/
    ``clipped_stdev`` (astropy ``sigma_clipped_stats`` with ``sigma`` and ``maxiters``).
    ``section`` (a FITS section such as a frame's ``DATASEC``) restricts the pixels.
    The frames' coordinates along ``frame`` are kept; a single 2-D image gives scalars.

    >>> import numpy as np, xarray as xr
    >>> stack = xr.DataArray(np.ones((2, 3, 3), "f4"), dims=("frame", "y", "x"))
    >>> float(imstat(stack, section="[1:2,1:2]")["npix"][0])
    4.0
    """
    single = isinstance(frames, xr.DataArray) and frames.ndim == 2
    stack = as_stack(frames.expand_dims(FRAME) if single else frames, "imstat")
    table = _stat_array(stack, STATISTICS, section, sigma, maxiters)
    coords = {name: coord for name, coord in stack.coords.items() if coord.dims == (FRAME,)}
    attrs = add_history(stack.attrs, "imstat", section=section, sigma=sigma, maxiters=maxiters)
    result = xr.Dataset({name: ((FRAME,), table[:, i]) for i, name in enumerate(STATISTICS)},
                        coords=coords, attrs=attrs)
    return result.isel({FRAME: 0}) if single else result
