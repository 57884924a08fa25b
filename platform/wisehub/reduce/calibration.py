"""CCD calibration: overscan and trim, master bias/dark/flat, and science calibration.

The semantics are ccdproc's (``subtract_overscan``, ``trim_image``, then the steps of
:mod:`wisehub.reduce.steps`: ``subtract_bias``, ``subtract_dark(scale=True)``,
``flat_correct``, ``gain_correct``), on lazy xarray stacks; :func:`calibrate` is those steps
composed. Masters are combined with :func:`wisehub.reduce.combine`.

>>> import numpy as np, xarray as xr
>>> raw = xr.DataArray(np.full((2, 4, 4), 110, "u2"), dims=("frame", "y", "x"),
...                    coords={"BIASSEC": ("frame", ["[4:4,1:4]"] * 2),
...                            "TRIMSEC": ("frame", ["[1:3,1:4]"] * 2)})
>>> overscan_correct(raw).shape
(2, 4, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import astropy.units as u
import dask.array as da
import numpy as np
import xarray as xr

from wisehub.conventions.units import UNITS_ATTR, unit_of, unit_string
from wisehub.reduce.combination import Method, combine
from wisehub.reduce.frames import FRAME, ReduceError, as_stack
from wisehub.reduce.history import add_history
from wisehub.reduce.sections import section_slices
from wisehub.reduce.steps import (
    calibration_plane,
    expand,
    exposure_times,
    finish,
    flat_correct,
    flat_plane,
    gain_correct,
    require_unit,
    subtract_bias,
    subtract_dark,
)

Frames = xr.DataArray | Sequence[xr.DataArray]


def _one_value(stack: xr.DataArray, name: str, what: str) -> Any:
    """The single value of a per-frame coordinate that must agree for every frame."""
    values = np.unique(np.asarray(stack[name].values).ravel())
    if len(values) != 1:
        raise ReduceError(f"{what}: frames disagree on {name} ({list(values)}); "
                          "process frames of one chip/readout mode at a time")
    return values[0].item() if hasattr(values[0], "item") else values[0]


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
    stack, single = expand(frames, "overscan_correct")
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
    return finish(result, single)


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
    unit = unit_string(unit_of(stack) or u.adu)
    return result.assign_attrs({UNITS_ATTR: unit, "IMAGETYP": "MASTER_BIAS"}).rename("bias")


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
    exptime = exposure_times(stack, "master_dark")
    if bool(np.any(exptime.values <= 0)):
        raise ReduceError("master_dark: darks need EXPTIME > 0 to give a dark current per second")
    if bias is not None:
        stack = subtract_bias(stack, bias).astype(np.float32)
    result = combine(stack, method, scale=1.0 / exptime.values, **combine_kw)
    result = result.assign_coords(EXPTIME=1.0)
    unit = unit_string((unit_of(stack) or u.adu) / u.s)
    return result.assign_attrs({UNITS_ATTR: unit, "IMAGETYP": "MASTER_DARK"}).rename("dark")


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
        stack = subtract_bias(stack, bias)
    if dark is not None:
        stack = subtract_dark(stack, dark)
    combine_kw.setdefault("scale", "median")
    combined = combine(stack.astype(np.float32), method, **combine_kw)
    whole = combined.data.rechunk(-1)
    level = whole.map_blocks(_flat_level, chunks=((1,), (1,)), dtype=whole.dtype)[0, 0]
    result = combined / level
    result.attrs = add_history(combined.attrs, "master_flat", normalised="median")
    return result.assign_attrs({UNITS_ATTR: "", "IMAGETYP": "MASTER_FLAT"}).rename("flat")


def _flat_level(image: np.ndarray) -> np.ndarray:
    level = np.nanmedian(image) if np.isfinite(image).any() else np.nan
    if not (np.isfinite(level) and level > 0):
        raise ReduceError(f"master_flat: the combined flat has median {level}; flats must be "
                          "positive after bias/dark subtraction (are these flat frames?)")
    return np.array([[level]], dtype=image.dtype)


def calibrate(science: Frames, bias: xr.DataArray | None = None,
              dark: xr.DataArray | None = None, flat: xr.DataArray | None = None,
              bpm: xr.DataArray | None = None, gain: float | None = None, *,
              overscan: bool | None = None) -> xr.DataArray:
    """Calibrate science frames to electrons: overscan/trim, then :func:`subtract_bias`,
    :func:`subtract_dark` (× EXPTIME), :func:`flat_correct`, :func:`gain_correct`, and bad
    pixels (``bpm`` True) set to NaN.

    ``gain`` (e⁻/ADU) defaults to the frames' ``GAIN``. Flat pixels <= 0 or NaN give NaN with
    a :class:`FlatWarning`. The result is always a lazy DataArray in ``electron`` (float32),
    one image for one image in; :func:`variance` gives its variance.

    >>> import numpy as np, xarray as xr
    >>> sci = xr.DataArray(np.full((2, 2), 300.0, "f4"), dims=("y", "x"))
    >>> bias = xr.DataArray(np.full((2, 2), 100.0, "f4"), dims=("y", "x"))
    >>> out = calibrate(sci, bias=bias, gain=2.0)
    >>> float(out.mean()), out.attrs["units"]
    (400.0, 'electron')
    """
    stack, single = expand(science, "calibrate")
    if overscan or (overscan is None and "BIASSEC" in stack.coords):
        stack = overscan_correct(stack)
    out = stack.astype(np.float32)
    if bias is not None:
        out = subtract_bias(out, bias)
    if dark is not None:
        out = subtract_dark(out, dark)
    if flat is not None:
        out = flat_correct(out, flat)
    out = gain_correct(out, gain)
    if bpm is not None:
        bad = calibration_plane(bpm, out, "bad-pixel mask", "calibrate")
        if bad.dtype != bool:
            raise ReduceError(f"calibrate: bpm must be boolean (True = bad), got {bad.dtype}")
        out = out.where(~bad).assign_attrs(add_history(out.attrs, "mask_bad_pixels"))
    return finish(out.astype(np.float32), single)


def variance(calibrated: xr.DataArray, flat: xr.DataArray | None = None, *,
             rdnoise: float | None = None) -> xr.DataArray:
    """The variance (electron²) of frames calibrated with :func:`calibrate`: Poisson noise of
    the detected electrons plus ``rdnoise``² (e⁻; default the frames' ``RDNOISE``), divided by
    the square of the ``flat`` they were divided by. NaN where the frames are NaN.

    >>> import numpy as np, xarray as xr
    >>> cal = xr.DataArray(np.full((1, 1), 400.0, "f4"), dims=("y", "x"),
    ...                    attrs={"units": "electron"})
    >>> float(variance(cal, rdnoise=3.0)[0, 0])
    409.0
    """
    what = "variance"
    stack, single = expand(calibrated, what)
    require_unit(stack, u.electron, what, "the frames are in '{unit}'; calibrate them to "
                 "electrons first")
    noise = _rdnoise(stack, rdnoise)
    detected = stack if flat is None else stack * flat_plane(flat, stack, what, warn=False)
    var = detected.clip(min=0) + noise**2
    if flat is not None:
        var = var / flat_plane(flat, stack, what, warn=False) ** 2
    attrs = add_history({k: v for k, v in stack.attrs.items() if k != "history"}, what)
    attrs[UNITS_ATTR] = unit_string(u.electron**2)
    result = xr.DataArray(var.astype(np.float32).data, dims=stack.dims, coords=stack.coords,
                          attrs=attrs, name="variance")
    return finish(result, single)


def _rdnoise(stack: xr.DataArray, rdnoise: float | None) -> xr.DataArray | float:
    if rdnoise is not None:
        return float(rdnoise)
    if "RDNOISE" not in stack.coords:
        raise ReduceError("variance: the read noise is needed; pass rdnoise= (e-) or give the "
                          "frames an RDNOISE coordinate")
    return stack["RDNOISE"].astype(np.float32)
