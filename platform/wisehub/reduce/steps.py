"""The calibration steps, one function each, as ccdproc names them.

:func:`subtract_bias`, :func:`subtract_dark`, :func:`flat_correct` and :func:`gain_correct`
take one 2-D image or a ``(frame, y, x)`` stack and a calibration image. Each checks what it
is given (shape, chip, filter, units: the message says exactly what does not fit), records
itself in the ``history`` attribute, sets the result's unit
(:mod:`wisehub.conventions.units`) and stays lazy: nothing is computed until the caller
computes, so data and their statistics can come out of one pass.
:func:`wisehub.reduce.calibrate` is these steps composed.

>>> import numpy as np, xarray as xr
>>> raw = xr.DataArray(np.full((2, 2), 300.0, "f4"), dims=("y", "x"), attrs={"units": "adu"})
>>> bias = xr.DataArray(np.full((2, 2), 100.0, "f4"), dims=("y", "x"), attrs={"units": "adu"})
>>> out = gain_correct(subtract_bias(raw, bias), 2.0)
>>> float(out.mean()), out.attrs["units"]
(400.0, 'electron')
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import astropy.units as u
import dask.array as da
import numpy as np
import xarray as xr

from wisehub.conventions.units import UNITS_ATTR, unit_of, unit_string
from wisehub.reduce.frames import FRAME, ReduceError, as_stack
from wisehub.reduce.history import add_history

Frames = xr.DataArray | Sequence[xr.DataArray]


class FlatWarning(UserWarning):
    """The flat has pixels <= 0 or NaN; the calibrated pixels there are NaN."""


def expand(frames: Frames, what: str) -> tuple[xr.DataArray, bool]:
    """A (frame, y, x) stack, and whether the input was a single 2-D image."""
    if isinstance(frames, xr.DataArray) and frames.ndim == 2:
        return as_stack(frames.expand_dims(FRAME), what), True
    return as_stack(frames, what), False


def finish(result: xr.DataArray, single: bool) -> xr.DataArray:
    """The result in the shape the caller gave: one image back for one image in."""
    return result.isel({FRAME: 0}) if single else result


def _floating(stack: xr.DataArray) -> xr.DataArray:
    return stack if stack.dtype.kind == "f" else stack.astype(np.float32)


def _result(out: xr.DataArray, stack: xr.DataArray, single: bool, step: str,
            unit: u.UnitBase | None, **params: object) -> xr.DataArray:
    attrs = add_history(stack.attrs, step, **params)
    if unit is not None:
        attrs[UNITS_ATTR] = unit_string(unit)
    result = xr.DataArray(out.data, dims=stack.dims, coords=stack.coords, attrs=attrs,
                          name=stack.name)
    return finish(result, single)


def calibration_plane(calib: xr.DataArray, science: xr.DataArray, name: str,
                      what: str) -> xr.DataArray:
    """A calibration image as bare (y, x) data, checked against the science frames."""
    if calib.ndim != 2:
        raise ReduceError(f"{what}: the {name} must be one 2-D image, got dims {calib.dims}")
    if calib.shape != science.shape[-2:]:
        raise ReduceError(f"{what}: the {name} has shape {calib.shape} but the frames are "
                          f"{science.shape[-2:]}; trim both the same way (overscan_correct)")
    for key in ("CHIP",):
        if key in calib.coords and key in science.coords:
            ours = set(np.asarray(science[key].values).ravel().tolist())
            theirs = set(np.asarray(calib[key].values).ravel().tolist())
            if not theirs <= ours or len(ours) != 1:
                raise ReduceError(f"{what}: the {name} is for {key} {sorted(theirs)} but the "
                                  f"frames are {sorted(ours)}")
    return xr.DataArray(calib.data, dims=science.dims[-2:])


def require_unit(data: xr.DataArray, expected: u.UnitBase, what: str,
                 advice: str) -> u.UnitBase | None:
    """``data``'s unit; a :class:`ReduceError` (``advice`` formatted with ``{unit}``) when it
    declares one other than ``expected``."""
    unit = unit_of(data)
    if unit is not None and unit != expected:
        raise ReduceError(f"{what}: {advice.format(unit=unit)}")
    return unit


def _mismatch(what: str, image: u.UnitBase, calib: u.UnitBase, name: str) -> ReduceError:
    return ReduceError(f"{what}: unit '{image}' of the uncalibrated image does not match "
                       f"unit '{calib}' of the {name}")


def subtract_bias(frames: Frames, master: xr.DataArray) -> xr.DataArray:
    """Subtract a master bias from each frame (ccdproc's ``subtract_bias``).

    The units must agree where both are declared.

    >>> import numpy as np, xarray as xr
    >>> raw = xr.DataArray(np.ones((2, 2)), dims=("y", "x"), attrs={"units": "electron"})
    >>> subtract_bias(raw, xr.DataArray(np.ones((2, 2)), dims=("y", "x"),
    ...                                  attrs={"units": "adu"}))
    Traceback (most recent call last):
    ...
    wisehub.reduce.frames.ReduceError: subtract_bias: unit 'electron' of the uncalibrated image \
does not match unit 'adu' of the master bias
    """
    stack, single = expand(frames, "subtract_bias")
    ours, theirs = unit_of(stack), unit_of(master)
    if ours is not None and theirs is not None and ours != theirs:
        raise _mismatch("subtract_bias", ours, theirs, "master bias")
    plane = calibration_plane(master, stack, "master bias", "subtract_bias")
    return _result(_floating(stack) - plane, stack, single, "subtract_bias",
                   ours or theirs)


def exposure_times(frames: xr.DataArray, what: str) -> xr.DataArray:
    """The frames' ``EXPTIME`` (seconds), checked to be known and >= 0."""
    if "EXPTIME" not in frames.coords:
        raise ReduceError(f"{what}: the frames have no EXPTIME; dark scaling needs exposure "
                          "times (set the EXPTIME coordinate, in seconds)")
    exptime = frames["EXPTIME"].astype(float)
    bad = ~(np.isfinite(exptime.values) & (exptime.values >= 0))
    if bad.any():
        names = np.asarray(frames[FRAME].values)[bad].tolist() if exptime.ndim else []
        raise ReduceError(f"{what}: EXPTIME is missing (NaN) or negative for frames {names}; "
                          "dark scaling needs exposure times")
    return exptime


def _dark_time(dark: xr.DataArray, rate: bool, what: str) -> float:
    if "EXPTIME" in dark.coords or "EXPTIME" in dark.attrs:
        dark_time = float(dark.coords["EXPTIME"].values if "EXPTIME" in dark.coords
                          else dark.attrs["EXPTIME"])
    elif rate:
        dark_time = 1.0  # a dark current per second
    else:
        raise ReduceError(f"{what}: the dark has no EXPTIME; make it with master_dark or set "
                          "its EXPTIME (seconds)")
    if not dark_time > 0:
        raise ReduceError(f"{what}: the dark's EXPTIME is {dark_time}; it must be > 0")
    return dark_time


def subtract_dark(frames: Frames, master: xr.DataArray) -> xr.DataArray:
    """Subtract a dark scaled to each frame's exposure time (ccdproc's
    ``subtract_dark(scale=True)``): ``dark × EXPTIME / dark EXPTIME``.

    A dark in the image's unit per second (``master_dark``'s ``adu / s``) is a dark current;
    a dark in the image's own unit is scaled by the ratio of exposure times.

    >>> import numpy as np, xarray as xr
    >>> raw = xr.DataArray(np.full((2, 2), 10.0), dims=("y", "x"),
    ...                    coords={"EXPTIME": 5.0}, attrs={"units": "adu"})
    >>> dark = xr.DataArray(np.ones((2, 2)), dims=("y", "x"), attrs={"units": "adu / s"})
    >>> float(subtract_dark(raw, dark).mean())
    5.0
    """
    what = "subtract_dark"
    stack, single = expand(frames, what)
    ours, theirs = unit_of(stack), unit_of(master)
    rate = theirs is not None and (theirs * u.s) in (ours or u.adu, u.electron)
    if ours is not None and theirs is not None and theirs not in (ours, ours / u.s):
        raise ReduceError(f"{what}: unit '{theirs}' of the dark does not match unit '{ours}' "
                          f"of the uncalibrated image; expected '{ours}' or '{ours / u.s}'")
    plane = calibration_plane(master, stack, "dark", what)
    dark_time = _dark_time(master, rate, what)
    factor = exposure_times(stack, what) / dark_time
    out = _floating(stack) - plane * factor.astype(np.float32)
    return _result(out, stack, single, what, ours, scale="EXPTIME", dark_exptime=dark_time)


def _checked_flat(flat: np.ndarray) -> np.ndarray:
    """The flat with pixels <= 0 or NaN set to NaN, warning how many there are."""
    bad = ~(np.isfinite(flat) & (flat > 0))
    nbad = int(np.count_nonzero(bad))
    if nbad:
        warnings.warn(FlatWarning(
            f"flat_correct: the flat has {nbad} pixel(s) <= 0 or NaN; those pixels are NaN in "
            "the result (mark them in the bad-pixel mask)"), stacklevel=2)
    return np.where(bad, np.nan, flat).astype(flat.dtype, copy=False)


def flat_plane(flat: xr.DataArray, frames: xr.DataArray, what: str,
               warn: bool = True) -> xr.DataArray:
    """A normalised flat as (y, x) data checked against the frames, pixels <= 0 or NaN as
    NaN. The check runs when the data are computed (one task over the whole flat), so it
    adds no pass over the data; ``warn`` raises a :class:`FlatWarning` for them."""
    plane = calibration_plane(flat, frames, "flat", what)
    if "FILTER" in flat.coords and "FILTER" in frames.coords:
        theirs = set(np.asarray(flat["FILTER"].values).astype(str).ravel().tolist())
        ours = set(np.asarray(frames["FILTER"].values).astype(str).ravel().tolist())
        if theirs != ours:
            raise ReduceError(f"{what}: the flat is for FILTER {sorted(theirs)} but the "
                              f"frames are {sorted(ours)}")
    if not warn:
        return plane.where((plane > 0) & np.isfinite(plane))
    if isinstance(plane.data, da.Array):
        whole = plane.data.rechunk(-1)
        checked = whole.map_blocks(_checked_flat, dtype=whole.dtype).rechunk(plane.data.chunks)
    else:
        checked = _checked_flat(np.asarray(plane.data))
    return plane.copy(data=checked)


def flat_correct(frames: Frames, flat: xr.DataArray) -> xr.DataArray:
    """Divide by a normalised flat (ccdproc's ``flat_correct`` with ``norm_value=1``).

    The flat must be dimensionless where its unit is declared (``master_flat`` makes one);
    flat pixels <= 0 or NaN give NaN with a :class:`FlatWarning`.

    >>> import numpy as np, xarray as xr
    >>> raw = xr.DataArray(np.full((1, 2), 10.0), dims=("y", "x"))
    >>> flat_correct(raw, xr.DataArray([[0.5, 2.0]], dims=("y", "x"))).values.tolist()
    [[20.0, 5.0]]
    """
    what = "flat_correct"
    stack, single = expand(frames, what)
    require_unit(flat, u.dimensionless_unscaled, what, "the flat has unit '{unit}'; a flat "
                 "must be normalised and dimensionless (make it with master_flat)")
    out = _floating(stack) / flat_plane(flat, stack, what)
    return _result(out, stack, single, what, unit_of(stack))


def frame_gain(stack: xr.DataArray, gain: float | None, what: str) -> xr.DataArray | float:
    """``gain`` (e-/ADU), or each frame's ``GAIN``, checked to be positive."""
    if gain is not None:
        if not (np.isfinite(gain) and gain > 0):
            raise ReduceError(f"{what}: gain {gain} must be a positive number (e-/ADU)")
        return float(gain)
    if "GAIN" not in stack.coords:
        raise ReduceError(f"{what}: no gain= given and the frames have no GAIN; pass the "
                          "gain in e-/ADU")
    values = stack["GAIN"].astype(float)
    if not bool(np.all(np.isfinite(values.values) & (values.values > 0))):
        raise ReduceError(f"{what}: some frames have a GAIN that is missing or <= 0")
    return values.astype(np.float32)


def gain_correct(frames: Frames, gain: float | None = None) -> xr.DataArray:
    """Multiply by the gain, ADU to electrons (ccdproc's ``gain_correct``).

    ``gain`` (e-/ADU) defaults to the frames' ``GAIN``. Images already in another unit than
    ADU are refused.

    >>> import numpy as np, xarray as xr
    >>> gain_correct(xr.DataArray(np.ones((1, 1)), dims=("y", "x"),
    ...                           attrs={"units": "electron"}), 2.0)
    Traceback (most recent call last):
    ...
    wisehub.reduce.frames.ReduceError: gain_correct: the image is in 'electron', not adu; \
the gain converts ADU to electrons
    """
    what = "gain_correct"
    stack, single = expand(frames, what)
    require_unit(stack, u.adu, what, "the image is in '{unit}', not adu; the gain converts "
                 "ADU to electrons")
    value = frame_gain(stack, gain, what)
    return _result(_floating(stack) * value, stack, single, what, u.electron,
                   gain=gain if gain is not None else "GAIN")
