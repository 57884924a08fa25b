"""Per-tile combine kernels: every frame of one tile in, one combined tile out.

The kernels are compiled with numba and release the GIL, so Dask threads run them in
parallel. A tile arrives as a 2-D array ``(frame, pixel)``; each pixel's valid values (finite,
not masked, inside the ``lower``/``upper`` thresholds) are scaled per frame and reduced in
float64. Sigma clipping follows astropy's ``sigma_clip(axis=0)`` exactly: centre and spread
of the surviving values (population std, or mad_std = 1.482602218505602 × MAD), iterate
until nothing changes or ``maxiters`` (``-1``: no limit), then keep every valid value inside
the *last* bounds.

>>> import numpy as np
>>> tile = np.array([[1.0, 2.0], [3.0, np.nan], [100.0, 4.0]], dtype=np.float32)
>>> out, n = combine_tile(tile, MEDIAN)
>>> out.tolist(), n.tolist()
([3.0, 3.0], [3, 2])
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MEAN, MEDIAN, SIGMA_CLIP, MINMAX = 0, 1, 2, 3
MAD_TO_STD = 1.482602218505602
_BLOCK = 64  # pixels gathered at a time by the per-pixel kernel


@njit(nogil=True, cache=True)
def _is_valid(value: float, lower: float, upper: float) -> bool:
    return math.isfinite(value) and lower <= value <= upper


@njit(nogil=True, cache=True)
def _mean_kernel(data, mask, has_mask, scale, weights, lower, upper, out, count):
    """Weighted mean over axis 0, frame-outer so memory is read in order.

    Without a mask or thresholds the sum runs unchecked first (it vectorises); only pixels
    whose sum came out non-finite (a NaN or inf in some frame) are redone value by value.
    """
    nframe, npix = data.shape
    acc = np.zeros(npix)
    wsum = np.zeros(npix)
    redo = has_mask or lower > -np.inf or upper < np.inf
    if not redo:
        wtotal = 0.0
        for f in range(nframe):
            factor = scale[f] * weights[f]
            wtotal += weights[f]
            row = data[f]
            for p in range(npix):
                acc[p] += row[p] * factor
        for p in range(npix):
            if math.isfinite(acc[p]):
                wsum[p] = wtotal
                count[p] = nframe
            else:
                acc[p] = 0.0
                redo = True
    if redo:
        for f in range(nframe):
            s = scale[f]
            w = weights[f]
            for p in range(npix):
                if count[p] == nframe and wsum[p] > 0:
                    continue
                v = float(data[f, p])
                if (not has_mask or not mask[f, p]) and _is_valid(v, lower, upper):
                    acc[p] += w * (v * s)
                    wsum[p] += w
                    count[p] += 1
    for p in range(npix):
        out[p] = acc[p] / wsum[p] if count[p] > 0 else np.nan


@njit(nogil=True, cache=True)
def _kth(a, n, k):
    """The k-th smallest of ``a[:n]`` (partially reorders ``a``)."""
    lo, hi = 0, n - 1
    while lo < hi:
        pivot = a[k]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if j < k:
            lo = i
        if k < i:
            hi = j
    return a[k]


@njit(nogil=True, cache=True)
def _median(values, n, scratch):
    """Median of ``values[:n]`` without reordering ``values``."""
    for i in range(n):
        scratch[i] = values[i]
    return _median_inplace(scratch, n)


@njit(nogil=True, cache=True)
def _clip_bounds(values, n, use_median, use_mad, maxiters, sigma_lower, sigma_upper, scratch):
    """Astropy's iterative bounds for ``values[:n]`` (compacted in place)."""
    iteration = 0
    lo = hi = np.nan
    while True:
        mean = 0.0
        for i in range(n):
            mean += values[i]
        mean /= n
        median = _median(values, n, scratch) if use_median or use_mad else mean
        centre = median if use_median else mean
        if use_mad:
            for i in range(n):
                scratch[i] = abs(values[i] - median)
            spread = _median_inplace(scratch, n) * MAD_TO_STD
        else:
            spread = 0.0
            for i in range(n):
                spread += (mean - values[i]) ** 2
            spread = math.sqrt(spread / n)
        lo = centre - sigma_lower * spread
        hi = centre + sigma_upper * spread
        kept = 0
        for i in range(n):
            if lo <= values[i] <= hi:
                values[kept] = values[i]
                kept += 1
        iteration += 1
        if kept == 0 or kept == n or (maxiters != -1 and iteration >= maxiters):
            return lo, hi
        n = kept


@njit(nogil=True, cache=True)
def _median_inplace(a, n):
    """Median of ``a[:n]``, reordering ``a``."""
    upper = _kth(a, n, n // 2)
    if n % 2:
        return upper
    below = a[0]
    for i in range(1, n // 2):
        below = max(below, a[i])
    return 0.5 * (below + upper)


@njit(nogil=True, cache=True)
def _pixel_kernel(data, mask, has_mask, scale, weights, lower, upper, method, nlow, nhigh,
                  use_median, use_mad, maxiters, sigma_lower, sigma_upper, out, count):
    """Median, sigma-clipped mean or min/max-rejected mean, one pixel at a time."""
    nframe, npix = data.shape
    block = np.empty((_BLOCK, nframe))
    values = np.empty(nframe)
    frames = np.empty(nframe, dtype=np.int64)
    work = np.empty(nframe)
    scratch = np.empty(nframe)
    for p in range(npix):
        j = p % _BLOCK
        if j == 0:  # gather the next pixels frame by frame: short contiguous reads
            width = min(_BLOCK, npix - p)
            for f in range(nframe):
                for k in range(width):
                    block[k, f] = data[f, p + k]
        n = 0
        for f in range(nframe):
            v = block[j, f]
            if (not has_mask or not mask[f, p]) and _is_valid(v, lower, upper):
                values[n] = v * scale[f]
                frames[n] = f
                n += 1
        out[p] = np.nan
        count[p] = 0
        if n == 0:
            continue
        if method == MEDIAN:
            out[p] = _median(values, n, scratch)
            count[p] = n
            continue
        acc = 0.0
        wsum = 0.0
        kept = 0
        if method == SIGMA_CLIP:
            for i in range(n):
                work[i] = values[i]
            lo, hi = _clip_bounds(work, n, use_median, use_mad, maxiters, sigma_lower,
                                  sigma_upper, scratch)
            for i in range(n):
                if not (values[i] < lo or values[i] > hi):
                    w = weights[frames[i]]
                    acc += w * values[i]
                    wsum += w
                    kept += 1
        else:
            order = np.argsort(values[:n], kind="mergesort")
            for r in range(nlow, n - nhigh):
                i = order[r]
                w = weights[frames[i]]
                acc += w * values[i]
                wsum += w
                kept += 1
        if kept > 0:
            out[p] = acc / wsum
            count[p] = kept


def combine_tile(
    data: np.ndarray,
    method: int,
    *,
    mask: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    lower: float = -np.inf,
    upper: float = np.inf,
    nlow: int = 1,
    nhigh: int = 1,
    use_median: bool = True,
    use_mad: bool = False,
    maxiters: int = 5,
    sigma_lower: float = 3.0,
    sigma_upper: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Combine ``data`` (frames first, any trailing shape) over axis 0.

    Returns the combined values (float64, NaN where nothing survived) and the number of
    frames that contributed to each pixel.
    """
    nframe = data.shape[0]
    shape = data.shape[1:]
    flat = np.ascontiguousarray(data).reshape(nframe, -1)
    has_mask = mask is not None
    flat_mask = (np.ascontiguousarray(mask, dtype=np.bool_).reshape(nframe, -1) if has_mask
                 else np.zeros((1, 1), dtype=np.bool_))
    scale = np.ones(nframe) if scale is None else np.asarray(scale, dtype=np.float64)
    weights = np.ones(nframe) if weights is None else np.asarray(weights, dtype=np.float64)
    out = np.empty(flat.shape[1])
    count = np.zeros(flat.shape[1], dtype=np.int32)
    if method == MEAN:
        _mean_kernel(flat, flat_mask, has_mask, scale, weights, lower, upper, out, count)
    else:
        _pixel_kernel(flat, flat_mask, has_mask, scale, weights, lower, upper, method, nlow,
                      nhigh, use_median, use_mad, maxiters, sigma_lower, sigma_upper, out,
                      count)
    return out.reshape(shape), count.reshape(shape)
