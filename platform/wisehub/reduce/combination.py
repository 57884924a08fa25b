"""Combine a stack of frames into one image, reducing over space.

The stack is chunked into tiles that hold *every* frame of a patch of the image; one task
reduces one tile with a compiled kernel (:mod:`wisehub.reduce._kernels`). There is no tree of
partial results, and memory per task is bounded by the tile size (the ``chunk_size`` setting,
``WISEHUB_CHUNK_SIZE``). Frame-chunked input is rechunked by Dask, which switches to
its peer-to-peer rechunk (spilling to disk) on a distributed cluster for large stacks; except
for the mean, whose tiles take their band of each frame chunk as a view and sum the frames
one chunk after another, so the stack is never copied into tiles.

>>> import numpy as np, xarray as xr
>>> stack = xr.DataArray(np.array([[[1.0]], [[2.0]], [[9.0]]], "f4"), dims=("frame", "y", "x"))
>>> float(combine(stack, "median")[0, 0])
2.0
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph
from dask.utils import parse_bytes

from wisehub.config import get_settings
from wisehub.reduce._kernels import (
    MEAN,
    MEDIAN,
    MINMAX,
    SIGMA_CLIP,
    MeanSums,
    add_to_mean,
    combine_tile,
    finish_mean,
    start_mean,
)
from wisehub.reduce.frames import (
    FRAME,
    NoValidDataWarning,
    ReduceError,
    as_stack,
    common_coords,
)
from wisehub.reduce.history import add_history
from wisehub.reduce.stats import per_frame
from wisehub.storage.layoutadvice import advise_stack_layout

Method = Literal["mean", "median", "sigma_clip", "minmax"]
_METHODS = {"mean": MEAN, "median": MEDIAN, "sigma_clip": SIGMA_CLIP, "minmax": MINMAX}


def combine(
    frames: xr.DataArray | Sequence[xr.DataArray],
    method: Method = "mean",
    *,
    mask: xr.DataArray | np.ndarray | None = None,
    scale: Sequence[float] | np.ndarray | xr.DataArray | Literal["median", "mean"] | None = None,
    weights: Sequence[float] | np.ndarray | xr.DataArray | None = None,
    sigma: float = 3.0,
    sigma_lower: float | None = None,
    sigma_upper: float | None = None,
    maxiters: int | None = 5,
    cenfunc: Literal["median", "mean"] = "median",
    stdfunc: Literal["std", "mad_std"] = "std",
    nlow: int = 1,
    nhigh: int = 1,
    min_clip: float | None = None,
    max_clip: float | None = None,
    saturate: float | Literal["header"] | None = None,
    tile_bytes: int | str | None = None,
) -> xr.DataArray:
    """Combine the frames of a stack pixel by pixel.

    Parameters
    ----------
    frames : DataArray (frame, y, x) or list of 2-D DataArrays
        The stack; raw integers or floats. NaN and inf values never count.
    method : {"mean", "median", "sigma_clip", "minmax"}
        ``sigma_clip`` is the mean of the values astropy's ``sigma_clip(axis=0)`` keeps;
        ``minmax`` is the mean after rejecting the ``nlow`` lowest and ``nhigh`` highest
        valid values of each pixel (IRAF's minmax).
    mask : bool array, broadcastable to the stack (e.g. a 2-D bad-pixel mask)
        True marks values to ignore.
    scale : per-frame factors, or "median"/"mean"
        Frames are multiplied by these before combining (and before rejection);
        "median" uses 1/median of each frame, for flats (computed in the same graph, so
        frames whose median is <= 0 raise :class:`ReduceError` when the result is computed).
    weights : per-frame positive weights of the mean (``mean`` and ``sigma_clip`` only).
    sigma, sigma_lower, sigma_upper, maxiters, cenfunc, stdfunc
        As astropy's ``sigma_clip``; ``maxiters=None`` iterates until nothing changes.
    min_clip, max_clip : values below/above these (before scaling) are ignored.
    saturate : values at or above this (or each frame's ``SATURATE`` with "header") are ignored.
    tile_bytes : bytes of input per task (default: the ``chunk_size`` setting).

    Returns
    -------
    DataArray (y, x), float32 (float64 for float64 input), lazy. Pixels where nothing
    survived are NaN and raise a :class:`NoValidDataWarning` when computed. Coordinates
    that are equal for all frames are kept as scalars; ``NCOMBINE`` and ``history`` are set.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> data = np.full((5, 2, 2), 10.0, dtype="f4"); data[0] = 1000.0
    >>> stack = xr.DataArray(data, dims=("frame", "y", "x"))
    >>> float(combine(stack, "sigma_clip", sigma=2.0)[0, 0])
    10.0
    """
    if method not in _METHODS:
        raise ReduceError(f"combine: unknown method {method!r}; choose one of {list(_METHODS)}")
    stack = as_stack(frames)
    advise_stack_layout(stack, "combine")
    if weights is not None and method not in ("mean", "sigma_clip"):
        raise ReduceError(f"combine: weights apply to 'mean' and 'sigma_clip', not {method!r}")
    nframe = stack.sizes[FRAME]
    params = _kernel_params(method, sigma, sigma_lower, sigma_upper, maxiters, cenfunc, stdfunc,
                            nlow, nhigh)
    lower, upper = _thresholds(stack, min_clip, max_clip, saturate)
    by_level = isinstance(scale, str)
    if by_level and scale not in ("median", "mean"):
        raise ReduceError(f"combine: scale {scale!r} must be 'median', 'mean' or numbers")
    factors = _per_frame(stack, scale, "scale") if scale is not None and not by_level else None
    frame_weights = _per_frame(stack, weights, "weights") if weights is not None else None

    data = stack.data if isinstance(stack.data, da.Array) else da.from_array(stack.values)
    chunks = _tile_chunks(data, tile_bytes)
    out_dtype = np.float64 if stack.dtype == np.float64 else np.float32
    kernel = dict(scale=factors, weights=frame_weights, lower=lower, upper=upper)
    rechunk_method = _rechunk_method(data)
    if (method == "mean" and mask is None and not by_level and len(data.chunks[0]) > 1
            and data.numblocks[1:] == (1, 1) and rechunk_method is None):
        combined = _mean_of_frame_chunks(data, _target(tile_bytes), out_dtype, kernel)
    else:
        data = data.rechunk(chunks, method=rechunk_method)
        args: list[Any] = [data, "fyx"]
        if mask is not None:
            args += [_mask_array(stack, mask).rechunk(chunks), "fyx"]
        if by_level:  # per-frame levels in the same graph: the frames are read once for both
            args += [per_frame(stack, str(scale)).rechunk(-1), "f"]
        combined = da.blockwise(
            _combine_block, "yx", *args, dtype=out_dtype, concatenate=False,
            has_mask=mask is not None, by_level=str(scale) if by_level else None,
            frames=[str(f) for f in stack[FRAME].values], code=_METHODS[method],
            out_dtype=out_dtype, **kernel, **params,
        )
    shown = {k: v for k, v in dict(scale=scale if isinstance(scale, str) else factors,
                                    weights=frame_weights, min_clip=min_clip,
                                    max_clip=max_clip, saturate=saturate).items()
             if v is not None}
    if method in ("sigma_clip", "minmax"):
        shown.update({k: params[k] for k in _SHOWN[method]})
    attrs = add_history(stack.attrs, "combine", method=method, frames=nframe,
                        masked=mask is not None, **_plain(shown))
    attrs["NCOMBINE"] = nframe
    return xr.DataArray(combined, dims=stack.dims[1:], coords=common_coords(stack),
                        attrs=attrs, name=stack.name)


_SHOWN = {
    "sigma_clip": ("sigma_lower", "sigma_upper", "maxiters", "use_median", "use_mad"),
    "minmax": ("nlow", "nhigh"),
}


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in params.items()}


def _combine_block(data: list[np.ndarray], *extra: list[np.ndarray], has_mask: bool,
                   by_level: str | None, frames: list[str], code: int, out_dtype: type,
                   **params: Any) -> np.ndarray:
    """One tile: each input arrives as the list of its blocks along the frames, which is one
    block (the frames are one chunk); taking it as it is, not concatenated, copies nothing."""
    (data,) = data
    mask = extra[0][0] if has_mask else None
    if by_level is not None:
        params["scale"] = _level_factors(extra[-1][0], by_level, frames)
    out, count = combine_tile(data, code, mask=mask, dtype=out_dtype, **params)
    _warn_if_empty(count)
    return out


_GROUP_TASKS = 8  # a group of frame chunks holds about this many tasks' worth of input


def _mean_of_frame_chunks(data: da.Array, target: int, out_dtype: type,
                          kernel: dict[str, Any]) -> da.Array:
    """The mean of a stack stored a frame (or a few) per chunk, without joining the frames
    into tiles (a rechunk copies the whole stack, and so does slicing, which copies what is
    under half its chunk).

    The frame chunks go in groups of about ``_GROUP_TASKS × target`` bytes. Each tile of the
    image plane keeps running sums that are carried from group to group, and one task per
    (group, tile) adds that group's frames to them, reading its tile of each chunk as a view
    (:func:`~wisehub.reduce._kernels.add_to_mean`). So a group's chunks, decoded or mapped
    once and shared by the tiles as the threaded scheduler shares memory, are let go once
    every tile has added them: a few groups are held at a time, not the whole stack, and the
    memory of a decoded group is reused for the next. The sums are those of the one-tile
    kernel, in the same order, so the result is the same to the bit."""
    nframe, ny, nx = data.shape
    chunk_frames = data.chunks[0]
    frame_bytes = ny * nx * data.dtype.itemsize
    groups: list[list[int]] = [[]]
    held = per_group = 0  # frames in the group being filled; the most in any group
    for index, frames in enumerate(chunk_frames):
        if held and (held + frames) * frame_bytes > _GROUP_TASKS * target:
            groups.append([])
            held = 0
        groups[-1].append(index)
        held += frames
        per_group = max(per_group, held)
    rows, columns = _plane_tile(per_group, ny, nx, data.dtype.itemsize, target)
    y_edges = [*range(0, ny, rows), ny]
    x_edges = [*range(0, nx, columns), nx]
    name = "combine-mean-" + tokenize(data, target, out_dtype, kernel)
    sums = "combine-mean-sums-" + tokenize(data, target, kernel)
    starts = np.cumsum((0, *chunk_frames))
    graph: dict[Any, Any] = {}
    for i, (y0, y1) in enumerate(itertools.pairwise(y_edges)):
        for j, (x0, x1) in enumerate(itertools.pairwise(x_edges)):
            carried = (_start_tile_sums, (y1 - y0, x1 - x0), nframe, kernel)
            for g, group in enumerate(groups):
                graph[sums, g, i, j] = (_add_group, carried, [(data.name, c, 0, 0) for c in group],
                                        int(starts[group[0]]), slice(y0, y1), slice(x0, x1),
                                        kernel)
                carried = (sums, g, i, j)
            graph[name, i, j] = (_finish_tile, carried, (y1 - y0, x1 - x0), out_dtype)
    layers = HighLevelGraph.from_collections(name, graph, dependencies=[data])
    sizes = tuple(tuple(int(b - a) for a, b in itertools.pairwise(e)) for e in (y_edges, x_edges))
    return da.Array(layers, name, chunks=sizes, dtype=out_dtype)


def _start_tile_sums(shape: tuple[int, int], nframe: int, kernel: dict[str, Any]) -> MeanSums:
    return start_mean(shape, nframe, **kernel)


def _add_group(sums: MeanSums, frame_chunks: list[np.ndarray], first: int, rows: slice,
               columns: slice, kernel: dict[str, Any]) -> MeanSums:
    """The tile's sums (carried from the previous group, and only used here: added to in
    place) with this group's frames added."""
    return add_to_mean(sums, [chunk[:, rows, columns] for chunk in frame_chunks], first,
                       **kernel)


def _finish_tile(sums: MeanSums, shape: tuple[int, int], out_dtype: type) -> np.ndarray:
    out, count = finish_mean(sums, shape, out_dtype)
    _warn_if_empty(count)
    return out


def _warn_if_empty(count: np.ndarray) -> None:
    empty = int(np.count_nonzero(count == 0))
    if empty:
        warnings.warn(NoValidDataWarning(
            f"combine: {empty} pixel(s) have no valid value in any frame (all NaN, masked or "
            "rejected); they are NaN in the result"), stacklevel=3)


def _kernel_params(method: str, sigma: float, sigma_lower: float | None,
                   sigma_upper: float | None, maxiters: int | None, cenfunc: str, stdfunc: str,
                   nlow: int, nhigh: int) -> dict[str, Any]:
    lower = sigma if sigma_lower is None else sigma_lower
    upper = sigma if sigma_upper is None else sigma_upper
    if method == "sigma_clip":
        if not (lower > 0 and upper > 0):
            raise ReduceError("combine: sigma, sigma_lower and sigma_upper must be > 0")
        if maxiters is not None and (int(maxiters) != maxiters or maxiters < 1):
            raise ReduceError("combine: maxiters must be a positive integer or None (no limit)")
        if cenfunc not in ("median", "mean"):
            raise ReduceError(f"combine: cenfunc {cenfunc!r} must be 'median' or 'mean'")
        if stdfunc not in ("std", "mad_std"):
            raise ReduceError(f"combine: stdfunc {stdfunc!r} must be 'std' or 'mad_std'")
    if method == "minmax" and (min(nlow, nhigh) < 0 or int(nlow) != nlow or int(nhigh) != nhigh):
        raise ReduceError("combine: nlow and nhigh must be integers >= 0")
    return dict(nlow=int(nlow), nhigh=int(nhigh), use_median=cenfunc == "median",
                use_mad=stdfunc == "mad_std", maxiters=-1 if maxiters is None else int(maxiters),
                sigma_lower=float(lower), sigma_upper=float(upper))


def _thresholds(stack: xr.DataArray, min_clip: float | None, max_clip: float | None,
                saturate: float | str | None) -> tuple[float, float]:
    lower = -np.inf if min_clip is None else float(min_clip)
    upper = np.inf if max_clip is None else float(max_clip)
    if saturate == "header":
        if "SATURATE" not in stack.coords:
            raise ReduceError("combine: saturate='header' but the frames have no SATURATE "
                              "coordinate; pass the saturation level as a number")
        saturate = float(np.nanmin(stack["SATURATE"].values))
    if saturate is not None:
        upper = min(upper, float(np.nextafter(float(saturate), -np.inf)))
    return lower, upper


def _level_factors(level: np.ndarray, statistic: str, frames: list[str]) -> np.ndarray:
    """1/level of each frame, or a :class:`ReduceError` naming the frames without one."""
    bad = [f for f, v in zip(frames, level, strict=True) if not (np.isfinite(v) and v > 0)]
    if bad:
        raise ReduceError(f"combine: cannot scale by 1/{statistic}: frames {bad} have a "
                          f"{statistic} <= 0 or no valid pixels; remove them from the stack")
    return 1.0 / level


def _per_frame(stack: xr.DataArray, values: Any, what: str) -> np.ndarray:
    nframe = stack.sizes[FRAME]
    array = np.asarray(values.values if isinstance(values, xr.DataArray) else values, dtype=float)
    if array.shape != (nframe,):
        raise ReduceError(f"combine: {what} has shape {array.shape}; expected one value per "
                          f"frame ({nframe})")
    if not np.all(np.isfinite(array)) or (what == "weights" and np.any(array <= 0)):
        raise ReduceError(f"combine: {what} must be finite" +
                          (" and > 0" if what == "weights" else ""))
    return array


def _mask_array(stack: xr.DataArray, mask: xr.DataArray | np.ndarray) -> da.Array:
    if isinstance(mask, xr.DataArray):
        missing = set(mask.dims) - set(stack.dims)
        if missing:
            raise ReduceError(f"combine: mask has dims {mask.dims} not in the stack {stack.dims}")
        mask = mask.broadcast_like(stack).transpose(*stack.dims).data
    if mask.dtype != bool:
        raise ReduceError(f"combine: mask must be boolean (True = ignore), got {mask.dtype}")
    try:
        return da.broadcast_to(da.asarray(mask), stack.shape)
    except ValueError as err:
        raise ReduceError(f"combine: mask of shape {mask.shape} does not fit the stack "
                          f"{stack.shape}") from err


def _target(tile_bytes: int | str | None) -> int:
    """Bytes of input per task: ``tile_bytes``, else the ``chunk_size`` setting."""
    return parse_bytes(tile_bytes) if tile_bytes else int(get_settings().chunk_size)


def _tile_chunks(data: da.Array, tile_bytes: int | str | None) -> tuple[int, int, int]:
    """All frames per tile; bands of full rows (contiguous in Zarr) sized to ``tile_bytes``."""
    target = _target(tile_bytes)
    nframe, ny, nx = data.shape
    if len(data.chunks[0]) == 1:
        cy, cx = max(data.chunks[1]), max(data.chunks[2])
        if nframe * cy * cx * data.dtype.itemsize <= 2 * target:
            return nframe, cy, cx  # already tiled over space: keep the store's tiles
    return nframe, *_plane_tile(nframe, ny, nx, data.dtype.itemsize, target)


def _plane_tile(nframe: int, ny: int, nx: int, itemsize: int, target: int) -> tuple[int, int]:
    """Rows and columns of a tile of the image plane holding ``target`` bytes of ``nframe``
    frames: bands of whole rows, or parts of one row when a row is already too much."""
    pixels = max(1, target // (nframe * itemsize))
    if pixels >= nx:
        return max(1, min(ny, pixels // nx)), nx
    return 1, max(1, min(nx, pixels))


def _rechunk_method(data: da.Array) -> str | None:
    """Peer-to-peer (spilling to disk) when frames must be regrouped on a cluster."""
    if len(data.chunks[0]) == 1:
        return None
    try:
        from distributed import default_client

        default_client()
    except (ImportError, ValueError):
        return None
    return "p2p"
