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
from functools import lru_cache

import numpy as np
from numba import njit

MEAN, MEDIAN, SIGMA_CLIP, MINMAX = 0, 1, 2, 3
MAD_TO_STD = 1.482602218505602
_BLOCK = 256  # pixels sorted together by the sorting-network kernel


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


def sorting_network(n: int) -> np.ndarray:
    """Compare-exchange pairs ``(i, j)``, ``i < j``, that sort ``n`` values (Batcher's
    odd-even merge sort on the next power of two; pairs reaching past ``n`` are dropped,
    which is exact when the missing values are +inf).

    >>> values = np.array([3.0, 1.0, 2.0])
    >>> for i, j in sorting_network(3):
    ...     values[i], values[j] = min(values[i], values[j]), max(values[i], values[j])
    >>> values.tolist()
    [1.0, 2.0, 3.0]
    """
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    a, b = i + j, i + j + k
                    if a // (2 * p) == b // (2 * p) and b < n:
                        pairs.append((a, b))
            k //= 2
        p *= 2
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@njit(nogil=True, cache=True)
def _range_median(s, lo, hi):
    """Median of the sorted values ``s[lo:hi]``."""
    m = hi - lo
    mid = lo + m // 2
    if m % 2:
        return s[mid]
    return 0.5 * (s[mid - 1] + s[mid])


@njit(nogil=True, cache=True)
def _range_mad(s, lo, hi, median):
    """Median of ``|s - median|`` over the sorted range: merge outward from the median."""
    m = hi - lo
    right = lo
    while right < hi and s[right] < median:
        right += 1
    left = right - 1
    below = 0.0
    current = 0.0
    for step in range(m // 2 + 1):
        if left < lo or (right < hi and s[right] - median < median - s[left]):
            current = s[right] - median
            right += 1
        else:
            current = median - s[left]
            left -= 1
        if step == m // 2 - 1:
            below = current
    return current if m % 2 else 0.5 * (below + current)


@njit(nogil=True, cache=True)
def _clip_bounds(s, n, use_median, use_mad, maxiters, sigma_lower, sigma_upper):
    """Astropy's iterative sigma-clipping bounds for the sorted values ``s[:n]``.

    Survivors of sorted values always form a range ``[lo, hi)``.
    """
    lo, hi = 0, n
    iteration = 0
    while True:
        m = hi - lo
        mean = 0.0
        for i in range(lo, hi):
            mean += s[i]
        mean /= m
        median = _range_median(s, lo, hi) if use_median or use_mad else mean
        centre = median if use_median else mean
        if use_mad:
            spread = _range_mad(s, lo, hi, median) * MAD_TO_STD
        else:
            spread = 0.0
            for i in range(lo, hi):
                spread += (mean - s[i]) ** 2
            spread = math.sqrt(spread / m)
        low = centre - sigma_lower * spread
        high = centre + sigma_upper * spread
        new_lo, new_hi = lo, hi
        while new_lo < new_hi and s[new_lo] < low:
            new_lo += 1
        while new_hi > new_lo and s[new_hi - 1] > high:
            new_hi -= 1
        iteration += 1
        if new_hi == new_lo or (new_lo == lo and new_hi == hi) or (
                maxiters != -1 and iteration >= maxiters):
            return low, high
        lo, hi = new_lo, new_hi


@njit(nogil=True, cache=True)
def _sorted_kernel(data, mask, has_mask, scale, weights, lower, upper, network, method, nlow,
                   nhigh, use_median, use_mad, maxiters, sigma_lower, sigma_upper, out, count,
                   values, ordered, uniform):
    """Median, sigma-clipped mean or min/max-rejected mean of each pixel.

    Pixels are handled ``_BLOCK`` at a time: their valid values (invalid ones as +inf) are
    sorted by a sorting network whose compare-exchanges run across the pixels of the block
    (branch-free, vectorised); then each pixel reads what it needs from its sorted column.
    ``values`` and ``ordered`` are ``(frames, _BLOCK)`` work buffers; float32 ones suffice
    (and sort twice as fast) when the values need no scaling.
    """
    nframe, npix = data.shape
    valid = np.zeros(_BLOCK, dtype=np.int64)
    column = np.empty(nframe)
    infinity = values.dtype.type(np.inf)
    for start in range(0, npix, _BLOCK):
        width = min(_BLOCK, npix - start)
        valid[:] = 0
        for f in range(nframe):
            s = scale[f]
            for k in range(width):
                raw = data[f, start + k]
                v = float(raw)
                ok = v - v == 0.0 and lower <= v <= upper  # finite, inside the thresholds
                if has_mask:
                    ok = ok and not mask[f, start + k]
                values[f, k] = v * s if ok else infinity
                valid[k] += ok
        ordered[:, :width] = values[:, :width]
        for c in range(network.shape[0]):
            i = network[c, 0]
            j = network[c, 1]
            for k in range(width):
                a = ordered[i, k]
                b = ordered[j, k]
                ordered[i, k] = min(a, b)
                ordered[j, k] = max(a, b)
        for k in range(width):
            p = start + k
            n = valid[k]
            out[p] = np.nan
            count[p] = 0
            if n == 0:
                continue
            for i in range(n):  # this pixel's sorted values, contiguous
                column[i] = float(ordered[i, k])
            if method == MEDIAN:
                out[p] = _range_median(column, 0, n)
                count[p] = n
            elif method == MINMAX:
                if n - nhigh > nlow:
                    total = 0.0
                    for i in range(nlow, n - nhigh):
                        total += column[i]
                    out[p] = total / (n - nhigh - nlow)
                    count[p] = n - nhigh - nlow
            else:
                low, high = _clip_bounds(column, n, use_median, use_mad, maxiters,
                                         sigma_lower, sigma_upper)
                total = 0.0
                wsum = 0.0
                kept = 0
                if uniform:  # survivors are a sorted range: every valid value in the bounds
                    for i in range(n):
                        if not (column[i] < low or column[i] > high):
                            total += column[i]
                            kept += 1
                    wsum = kept
                else:
                    for f in range(nframe):
                        v = float(values[f, k])
                        if v != np.inf and not (v < low or v > high):
                            total += weights[f] * v
                            wsum += weights[f]
                            kept += 1
                if kept:
                    out[p] = total / wsum
                    count[p] = kept


@lru_cache(maxsize=32)
def _network(n: int) -> np.ndarray:
    return sorting_network(n)


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
        exact32 = flat.dtype.itemsize <= 2 or flat.dtype == np.float32
        work = np.float32 if exact32 and np.all(scale == 1.0) else np.float64
        values = np.empty((nframe, _BLOCK), dtype=work)
        _sorted_kernel(flat, flat_mask, has_mask, scale, weights, lower, upper,
                       _network(nframe), method, nlow, nhigh, use_median, use_mad, maxiters,
                       sigma_lower, sigma_upper, out, count, values, np.empty_like(values),
                       bool(np.all(weights == weights[0])))
    return out.reshape(shape), count.reshape(shape)
