"""CCD calibration: overscan and trim, master bias/dark/flat, and science calibration.

The steps and their semantics are ccdproc's (``subtract_overscan``, ``trim_image``,
``subtract_bias``, ``subtract_dark(scale=True)``, ``flat_correct``, ``gain_correct``), on
lazy xarray stacks. Masters are combined with :func:`wisehub.reduce.combine`.

>>> import numpy as np, xarray as xr
>>> raw = xr.DataArray(np.full((2, 4, 4), 110, "u2"), dims=("frame", "y", "x"),
...                    coords={"BIASSEC": ("frame", ["[4:4,1:4]"] * 2),
...                            "TRIMSEC": ("frame", ["[1:3,1:4]"] * 2)})
>>> overscan_correct(raw).shape
(2, 4, 3)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from wisehub.reduce.combine import FRAME, Method, ReduceError, as_stack, combine
from wisehub.reduce.history import add_history
from wisehub.reduce.sections import section_slices

Frames = xr.DataArray | Sequence[xr.DataArray]


class FlatWarning(UserWarning):
    """The flat has pixels <= 0 or NaN; the calibrated pixels there are NaN."""


def _one_value(stack: xr.DataArray, name: str, what: str) -> Any:
    """The single value of a per-frame coordinate that must agree for every frame."""
    values = np.unique(np.asarray(stack[name].values).ravel())
    if len(values) != 1:
        raise ReduceError(f"{what}: frames disagree on {name} ({list(values)}); "
                          "process frames of one chip/readout mode at a time")
    return values[0].item() if hasattr(values[0], "item") else values[0]


def _expand(frames: Frames, what: str) -> tuple[xr.DataArray, bool]:
    """A (frame, y, x) stack, and whether the input was a single 2-D image."""
    if isinstance(frames, xr.DataArray) and frames.ndim == 2:
        return as_stack(frames.expand_dims(FRAME), what), True
    return as_stack(frames, what), False


def _finish(result: xr.DataArray, single: bool) -> xr.DataArray:
    return result.isel({FRAME: 0}) if single else result


def overscan_correct(frames: Frames, *, biassec: str | None = None, trimsec: str | None = None,
                     median: bool = True) -> xr.DataArray:
    """Subtract each row's overscan level, then trim; float32 out.

    ``biassec``/``trimsec`` default to the frames' ``BIASSEC`` and ``TRIMSEC`` (or
    ``DATASEC``) coordinates. The overscan level of a row is the median (``median=True``)
    or mean of its overscan columns, as ccdproc's ``subtract_overscan(overscan_axis=1)``.

    >>> import numpy as np, xarray as xr
    >>> raw = xr.DataArray(np.array([[5, 7, 2], [6, 8, 3]], "u2"), dims=("y", "x"))
    >>> overscan_correct(raw, biassec="[3:3,1:2]", trimsec="[1:2,1:2]").values.tolist()
    [[3.0, 5.0], [3.0, 5.0]]
    """
    stack, single = _expand(frames, "overscan_correct")
    biassec = biassec or _section(stack, ("BIASSEC",), "overscan_correct")
    trimsec = trimsec or _section(stack, ("TRIMSEC", "DATASEC"), "overscan_correct")
    rows, cols = section_slices(biassec)
    ny, nx = stack.shape[1:]
    if rows.indices(ny)[:2] != (0, ny) or cols.stop > nx:
        raise ReduceError(f"overscan_correct: BIASSEC {biassec} must span all {ny} rows and lie "
                          f"inside the {nx} columns; pass biassec= for this camera")
    trim = section_slices(trimsec)
    if trim[0].stop > ny or trim[1].stop > nx:
        raise ReduceError(f"overscan_correct: TRIMSEC {trimsec} lies outside the {ny}x{nx} frames")
    data = stack.data if isinstance(stack.data, da.Array) else da.from_array(stack.values)
    data = data.rechunk({2: -1})
    corrected = data.map_blocks(_subtract_overscan, cols, median, dtype=np.float32)
    result = xr.DataArray(corrected, dims=stack.dims, coords=stack.coords, name=stack.name,
                          attrs=add_history(stack.attrs, "overscan_correct", biassec=biassec,
                                            trimsec=trimsec, median=median))
    result = result.isel(y=trim[0], x=trim[1]).drop_vars(
        [c for c in ("BIASSEC", "TRIMSEC") if c in result.coords])
    shape = f"[1:{result.sizes['x']},1:{result.sizes['y']}]"
    if "DATASEC" in result.coords:
        result = result.assign_coords(DATASEC=(FRAME, [shape] * result.sizes[FRAME]))
    return _finish(result, single)


def _subtract_overscan(block: np.ndarray, cols: slice, median: bool) -> np.ndarray:
    overscan = block[:, :, cols].astype(np.float64)
    level = np.median(overscan, axis=2) if median else overscan.mean(axis=2)
    return (block - level[:, :, np.newaxis]).astype(np.float32)


def _section(stack: xr.DataArray, names: tuple[str, ...], what: str) -> str:
    for name in names:
        if name in stack.coords:
            return str(_one_value(stack, name, what))
    raise ReduceError(f"{what}: the frames have no {' or '.join(names)}; pass the section "
                      "explicitly (FITS '[x1:x2,y1:y2]')")


def _prepare(frames: Frames, kind: str, what: str, overscan: bool | None) -> xr.DataArray:
    stack = as_stack(frames, what)
    if "IMAGETYP" in stack.coords:
        types = np.asarray(stack["IMAGETYP"].values).astype(str)
        wrong = [str(f) for f, t in zip(stack[FRAME].values, types, strict=True)
                 if t.strip().upper() != kind]
        if wrong:
            raise ReduceError(f"{what}: frames {wrong[:5]}{'…' if len(wrong) > 5 else ''} are "
                              f"not IMAGETYP {kind}; select only {kind.lower()} frames")
    if overscan or (overscan is None and "BIASSEC" in stack.coords):
        stack = overscan_correct(stack)
    return stack


def _exptime(frames: xr.DataArray, what: str) -> xr.DataArray:
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


def _plane(calib: xr.DataArray, science: xr.DataArray, name: str, what: str) -> xr.DataArray:
    """A calibration image as bare (y, x) data, checked against the science frames."""
    if calib.ndim != 2:
        raise ReduceError(f"{what}: {name} must be one 2-D image, got dims {calib.dims}")
    if calib.shape != science.shape[-2:]:
        raise ReduceError(f"{what}: {name} has shape {calib.shape} but the frames are "
                          f"{science.shape[-2:]}; trim both the same way (overscan_correct)")
    for key in ("CHIP",):
        if key in calib.coords and key in science.coords:
            ours = set(np.asarray(science[key].values).ravel().tolist())
            theirs = set(np.asarray(calib[key].values).ravel().tolist())
            if not theirs <= ours or len(ours) != 1:
                raise ReduceError(f"{what}: {name} is for {key} {sorted(theirs)} but the frames "
                                  f"are {sorted(ours)}")
    return xr.DataArray(calib.data, dims=science.dims[-2:])


def master_bias(frames: Frames, method: Method = "sigma_clip", *, overscan: bool | None = None,
                **combine_kw: Any) -> xr.DataArray:
    """Combine bias frames (overscan-corrected when the frames have ``BIASSEC``).

    >>> import numpy as np, xarray as xr
    >>> frames = xr.DataArray(np.full((3, 2, 2), 100, "u2"), dims=("frame", "y", "x"))
    >>> float(master_bias(frames).mean())
    100.0
    """
    stack = _prepare(frames, "BIAS", "master_bias", overscan)
    result = combine(stack, method, **combine_kw)
    return result.assign_attrs(BUNIT="adu", IMAGETYP="MASTER_BIAS").rename("bias")


def master_dark(frames: Frames, bias: xr.DataArray | None = None,
                method: Method = "sigma_clip", *, overscan: bool | None = None,
                **combine_kw: Any) -> xr.DataArray:
    """Dark current per second: bias-subtracted darks divided by ``EXPTIME``, combined.

    The result has ``EXPTIME`` = 1 s, so :func:`calibrate` scales it by each frame's time.

    >>> import numpy as np, xarray as xr
    >>> darks = xr.DataArray(np.full((2, 2, 2), 120.0, "f4"), dims=("frame", "y", "x"),
    ...                      coords={"EXPTIME": ("frame", [10.0, 10.0])})
    >>> float(master_dark(darks, bias=xr.DataArray(np.full((2, 2), 100.0, "f4"),
    ...                                             dims=("y", "x"))).mean())
    2.0
    """
    stack = _prepare(frames, "DARK", "master_dark", overscan)
    exptime = _exptime(stack, "master_dark")
    if bool(np.any(exptime.values <= 0)):
        raise ReduceError("master_dark: darks need EXPTIME > 0 to give a dark current per second")
    if bias is not None:
        stack = (stack - _plane(bias, stack, "bias", "master_dark")).astype(np.float32)
    result = combine(stack, method, scale=1.0 / exptime.values, **combine_kw)
    result = result.assign_coords(EXPTIME=1.0)
    return result.assign_attrs(BUNIT="adu/s", IMAGETYP="MASTER_DARK").rename("dark")


def master_flat(frames: Frames, bias: xr.DataArray | None = None,
                dark: xr.DataArray | None = None, method: Method = "median", *,
                filter: str | None = None, overscan: bool | None = None,
                **combine_kw: Any) -> xr.DataArray:
    """Normalised flat of one filter: calibrated flats scaled by 1/median, combined,
    divided by the median of the result.

    >>> import numpy as np, xarray as xr
    >>> flats = xr.DataArray(np.array([[[1.0, 3.0]], [[2.0, 6.0]]], "f4"),
    ...                      dims=("frame", "y", "x"))
    >>> master_flat(flats).values.tolist()
    [[0.5, 1.5]]
    """
    stack = as_stack(frames, "master_flat")
    if "FILTER" in stack.coords:
        filters = sorted(set(np.asarray(stack["FILTER"].values).astype(str).tolist()))
        if filter is not None:
            stack = stack.sel({FRAME: stack["FILTER"] == filter})
            if stack.sizes[FRAME] == 0:
                raise ReduceError(f"master_flat: no flat frames in filter {filter!r}; "
                                  f"the frames have {filters}")
        elif len(filters) > 1:
            raise ReduceError(f"master_flat: the frames mix filters {filters}; pass filter= "
                              "or group them by FILTER")
    stack = _prepare(stack, "FLAT", "master_flat", overscan)
    if bias is not None:
        stack = stack - _plane(bias, stack, "bias", "master_flat")
    if dark is not None:
        stack = stack - _scaled_dark(dark, stack, "master_flat")
    combine_kw.setdefault("scale", "median")
    combined = combine(stack.astype(np.float32), method, **combine_kw)
    whole = combined.data.rechunk(-1)
    level = whole.map_blocks(_flat_level, chunks=((1,), (1,)), dtype=whole.dtype)[0, 0]
    result = combined / level
    result.attrs = add_history(combined.attrs, "master_flat", normalised="median")
    return result.assign_attrs(BUNIT="", IMAGETYP="MASTER_FLAT").rename("flat")


def _flat_level(image: np.ndarray) -> np.ndarray:
    level = np.nanmedian(image) if np.isfinite(image).any() else np.nan
    if not (np.isfinite(level) and level > 0):
        raise ReduceError(f"master_flat: the combined flat has median {level}; flats must be "
                          "positive after bias/dark subtraction (are these flat frames?)")
    return np.array([[level]], dtype=image.dtype)


def _scaled_dark(dark: xr.DataArray, frames: xr.DataArray, what: str) -> xr.DataArray:
    plane = _plane(dark, frames, "dark", what)
    if "EXPTIME" not in dark.coords and "EXPTIME" not in dark.attrs:
        raise ReduceError(f"{what}: the dark has no EXPTIME; make it with master_dark or set "
                          "its EXPTIME (seconds)")
    dark_time = float(dark.coords["EXPTIME"].values if "EXPTIME" in dark.coords
                      else dark.attrs["EXPTIME"])
    if not dark_time > 0:
        raise ReduceError(f"{what}: the dark's EXPTIME is {dark_time}; it must be > 0")
    factor = _exptime(frames, what) / dark_time
    return plane * factor.astype(np.float32)


def calibrate(science: Frames, bias: xr.DataArray | None = None,
              dark: xr.DataArray | None = None, flat: xr.DataArray | None = None,
              bpm: xr.DataArray | None = None, gain: float | None = None, *,
              overscan: bool | None = None, variance: bool = False,
              rdnoise: float | None = None) -> xr.DataArray | xr.Dataset:
    """Calibrate science frames to electrons: overscan/trim, − bias, − dark × EXPTIME,
    ÷ flat, × gain, bad pixels (``bpm`` True) set to NaN.

    ``gain`` (e⁻/ADU) defaults to the frames' ``GAIN``. With ``variance=True`` the result is
    a Dataset with ``data`` and ``variance`` (e⁻²): Poisson noise of the detected electrons
    plus ``rdnoise``² (default: the frames' ``RDNOISE``), divided by flat².
    Flat pixels <= 0 or NaN give NaN with a :class:`FlatWarning`.

    >>> import numpy as np, xarray as xr
    >>> sci = xr.DataArray(np.full((2, 2), 300.0, "f4"), dims=("y", "x"))
    >>> bias = xr.DataArray(np.full((2, 2), 100.0, "f4"), dims=("y", "x"))
    >>> float(calibrate(sci, bias=bias, gain=2.0).mean())
    400.0
    """
    stack, single = _expand(science, "calibrate")
    if overscan or (overscan is None and "BIASSEC" in stack.coords):
        stack = overscan_correct(stack)
    out = stack.astype(np.float32)
    steps: dict[str, Any] = {}
    if bias is not None:
        out = out - _plane(bias, out, "bias", "calibrate")
        steps["bias"] = True
    if dark is not None:
        out = out - _scaled_dark(dark, out, "calibrate")
        steps["dark"] = "scaled by EXPTIME"
    gain_value = _gain(stack, gain)
    detected = out * gain_value
    if flat is not None:
        out = out / _flat_plane(flat, out)
        steps["flat"] = True
    out = out * gain_value
    steps["gain"] = gain if gain is not None else "GAIN"
    if bpm is not None:
        bad = _plane(bpm, out, "bpm", "calibrate")
        if bad.dtype != bool:
            raise ReduceError(f"calibrate: bpm must be boolean (True = bad), got {bad.dtype}")
        out = out.where(~bad)
        steps["bpm"] = True
    coords = {k: v for k, v in stack.coords.items()}
    attrs = add_history(stack.attrs, "calibrate", **steps)
    attrs["BUNIT"] = "electron"
    out = xr.DataArray(out.astype(np.float32).data, dims=stack.dims, coords=coords,
                       attrs=attrs, name=stack.name)
    if not variance:
        return _finish(out, single)
    noise = _rdnoise(stack, rdnoise)
    var = detected.clip(min=0) + noise**2
    if flat is not None:
        var = var / _flat_plane(flat, out, warn=False) ** 2
    if bpm is not None:
        var = var.where(~_plane(bpm, out, "bpm", "calibrate"))
    var = xr.DataArray(var.astype(np.float32).data, dims=stack.dims, coords=coords,
                       attrs={"BUNIT": "electron2"})
    result = xr.Dataset({"data": out, "variance": var}, attrs=attrs)
    return result.isel({FRAME: 0}) if single else result


def _flat_plane(flat: xr.DataArray, frames: xr.DataArray, warn: bool = True) -> xr.DataArray:
    plane = _plane(flat, frames, "flat", "calibrate")
    if "FILTER" in flat.coords and "FILTER" in frames.coords:
        theirs = set(np.asarray(flat["FILTER"].values).astype(str).ravel().tolist())
        ours = set(np.asarray(frames["FILTER"].values).astype(str).ravel().tolist())
        if theirs != ours:
            raise ReduceError(f"calibrate: the flat is for FILTER {sorted(theirs)} but the "
                              f"frames are {sorted(ours)}")
    bad_pixels = (plane <= 0) | ~np.isfinite(plane)
    if warn:
        nbad = int(bad_pixels.sum().compute() if hasattr(bad_pixels.data, "compute")
                   else bad_pixels.sum())
        if nbad:
            warnings.warn(FlatWarning(
                f"calibrate: the flat has {nbad} pixel(s) <= 0 or NaN; those pixels are NaN in "
                "the result (mark them in the bad-pixel mask)"), stacklevel=3)
    return plane.where(~bad_pixels)


def _gain(stack: xr.DataArray, gain: float | None) -> xr.DataArray | float:
    if gain is not None:
        if not (np.isfinite(gain) and gain > 0):
            raise ReduceError(f"calibrate: gain {gain} must be a positive number (e-/ADU)")
        return float(gain)
    if "GAIN" not in stack.coords:
        raise ReduceError("calibrate: no gain= given and the frames have no GAIN; pass the "
                          "gain in e-/ADU")
    values = stack["GAIN"].astype(float)
    if not bool(np.all(np.isfinite(values.values) & (values.values > 0))):
        raise ReduceError("calibrate: some frames have a GAIN that is missing or <= 0")
    return values.astype(np.float32)


def _rdnoise(stack: xr.DataArray, rdnoise: float | None) -> xr.DataArray | float:
    if rdnoise is not None:
        return float(rdnoise)
    if "RDNOISE" not in stack.coords:
        raise ReduceError("calibrate: variance=True needs the read noise; pass rdnoise= (e-) "
                          "or give the frames an RDNOISE coordinate")
    return stack["RDNOISE"].astype(np.float32)
