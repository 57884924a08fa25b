"""Stacks of frames: the ``(frame, y, x)`` shape every reduction takes, and its errors.

>>> import numpy as np, xarray as xr
>>> one = xr.DataArray(np.zeros((2, 3), "f4"), dims=("y", "x"))
>>> as_stack([one, one]).dims
('frame', 'y', 'x')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import xarray as xr

FRAME = "frame"


class ReduceError(ValueError):
    """Input that a reduction cannot use; the message says what is wrong and what to do."""


class NoValidDataWarning(UserWarning):
    """Some output pixels had no valid input value; they are NaN."""


def as_stack(frames: xr.DataArray | Sequence[xr.DataArray], what: str = "combine") -> xr.DataArray:
    """A validated ``(frame, y, x)`` stack from a DataArray or a list of 2-D DataArrays.

    >>> import numpy as np, xarray as xr
    >>> one = xr.DataArray(np.zeros((2, 3), "f4"), dims=("y", "x"))
    >>> as_stack([one, one]).sizes["frame"]
    2
    """
    if isinstance(frames, xr.DataArray):
        stack = frames
    else:
        frames = list(frames)
        if not frames:
            raise ReduceError(f"{what}: the stack is empty; give at least one frame")
        first = frames[0]
        for i, frame in enumerate(frames):
            if frame.ndim != 2:
                raise ReduceError(f"{what}: frame {i} has dims {frame.dims}; expected 2-D (y, x)")
            if frame.shape != first.shape:
                raise ReduceError(f"{what}: frame {i} has shape {frame.shape} but frame 0 has "
                                  f"{first.shape}; trim or select frames of one chip")
            if frame.dtype != first.dtype:
                raise ReduceError(f"{what}: frame {i} has dtype {frame.dtype} but frame 0 has "
                                  f"{first.dtype}; convert them to one dtype first")
        stack = xr.concat(frames, dim=FRAME, combine_attrs="override")
    if FRAME not in stack.dims or stack.ndim != 3:
        raise ReduceError(f"{what}: expected dims (frame, y, x), got {stack.dims}")
    if stack.sizes[FRAME] == 0:
        raise ReduceError(f"{what}: the stack is empty (0 frames); check the frame selection")
    if stack.dtype.kind not in "iuf":
        raise ReduceError(f"{what}: data of dtype {stack.dtype} cannot be combined; "
                          "expected integer or floating-point pixels")
    return stack.transpose(FRAME, ...)


def common_coords(stack: xr.DataArray) -> dict[str, Any]:
    """Coordinates without the frame dim, plus per-frame ones that agree for every frame."""
    kept: dict[str, Any] = {}
    for name, coord in stack.coords.items():
        if FRAME not in coord.dims:
            kept[name] = coord
        elif name != FRAME and coord.ndim == 1:
            values = coord.values
            first = values[0]
            same = all(v == first or _both_nan(v, first) for v in values[1:])
            if same:
                kept[name] = xr.Variable((), first, coord.attrs)
    return kept


def _both_nan(a: Any, b: Any) -> bool:
    return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
