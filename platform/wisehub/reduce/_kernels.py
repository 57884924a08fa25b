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
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.lib.stride_tricks import as_strided

MEAN, MEDIAN, SIGMA_CLIP, MINMAX = 0, 1, 2, 3
MAD_TO_STD = 1.482602218505602
_BLOCK = 256  # pixels sorted together by the sorting-network kernel
_PIXELS = 1024  # pixels summed together by the mean kernel (their sums fit the L1 cache)
_BLOCKS_PER_CALL = 8  # blocks of frames one mean call sums, as a tuple of fixed length (one
# compiled signature per dtype; a numba typed list would compile its methods in every process)


@njit(nogil=True, cache=True)
def _plain_add_four(r0, r1, r2, r3, a, n):
    """Add frames ``r0`` to ``r3`` (finite values only) into the sums ``a`` and the counts
    ``n``: in that order, as one frame at a time would, with a quarter of the loads and stores
    of the sums. The counts are integers: a float count kept the loop from vectorising."""
    for k in range(a.shape[0]):
        v0, v1, v2, v3 = r0[k], r1[k], r2[k], r3[k]
        ok0, ok1, ok2, ok3 = v0 - v0 == 0, v1 - v1 == 0, v2 - v2 == 0, v3 - v3 == 0  # finite
        total = a[k] + (np.float64(v0) if ok0 else 0.0)
        total = total + (np.float64(v1) if ok1 else 0.0)
        total = total + (np.float64(v2) if ok2 else 0.0)
        a[k] = total + (np.float64(v3) if ok3 else 0.0)
        n[k] += np.int32(ok0) + np.int32(ok1) + np.int32(ok2) + np.int32(ok3)


@njit(nogil=True, cache=True)
def _plain_add_two(row, after, a, n):
    """Add frame ``row`` then frame ``after``, as :func:`_plain_add_four` adds four."""
    for k in range(a.shape[0]):
        v, u = row[k], after[k]
        ok, ok_after = v - v == 0, u - u == 0  # finite
        total = a[k] + (np.float64(v) if ok else 0.0)
        a[k] = total + (np.float64(u) if ok_after else 0.0)
        n[k] += np.int32(ok) + np.int32(ok_after)


@njit(nogil=True, cache=True)
def _plain_add_one(row, a, n):
    """Add frame ``row`` (finite values only) into the sums ``a`` and the counts ``n``."""
    for k in range(a.shape[0]):
        v = row[k]
        ok = v - v == 0
        a[k] += np.float64(v) if ok else 0.0
        n[k] += ok


@njit(nogil=True, cache=True)
def _plain_add_rest(r0, r1, r2, held, a, n):
    """Add the first ``held`` (0 to 3) of ``r0``, ``r1``, ``r2``, in that order."""
    if held >= 2:
        _plain_add_two(r0, r1, a, n)
        if held == 3:
            _plain_add_one(r2, a, n)
    elif held == 1:
        _plain_add_one(r0, a, n)


@njit(nogil=True, cache=True)
def _plain_add(data, stride, nframe, start, width, a, n):
    """:func:`_mean_add` without scales, weights, thresholds or a mask: frames in fours."""
    whole = nframe - nframe % 4
    for f in range(0, whole, 4):
        _plain_add_four(_row(data, stride, f, start, width),
                        _row(data, stride, f + 1, start, width),
                        _row(data, stride, f + 2, start, width),
                        _row(data, stride, f + 3, start, width), a, n)
    rest, empty = nframe - whole, data[start:start]
    _plain_add_rest(_row(data, stride, whole, start, width) if rest > 0 else empty,
                    _row(data, stride, whole + 1, start, width) if rest > 1 else empty,
                    _row(data, stride, whole + 2, start, width) if rest > 2 else empty,
                    rest, a, n)


@njit(nogil=True, cache=True)
def _row(data, stride, f, start, width):
    """Pixels ``start:start + width`` of frame ``f``."""
    return data[f * stride + start:f * stride + start + width]


@njit(nogil=True, cache=True)
def _mean_add(data, stride, nframe, first, start, width, mask, mask_stride, has_mask, scale,
              weights, lower, upper, plain, a, w_sum, n):
    """Add pixels ``start:start + width`` of the ``nframe`` frames in ``data`` (frames
    ``first`` onwards of the stack, for their scale and weight) into the weighted sums ``a``,
    the weight sums ``w_sum`` and the counts ``n``. What is not valid (not finite, masked,
    outside ``lower``/``upper``) adds nothing, by selection, not by a branch, so the loop
    vectorises whether or not the frames hold a NaN. Each value is read once, in place:
    frame ``f``'s pixel ``p`` is ``data[f * stride + p]`` (the mask likewise)."""
    if plain:
        _plain_add(data, stride, nframe, start, width, a, n)
        return
    for f in range(nframe):
        row = data[f * stride + start:f * stride + start + width]
        s = scale[first + f]
        w = weights[first + f]
        m = mask[f * mask_stride + start:f * mask_stride + start + width]
        for k in range(width):
            v = np.float64(row[k])
            ok = (v - v == 0.0) & (lower <= v) & (v <= upper)
            if has_mask:
                ok = ok & ~m[k]
            a[k] += w * (v * s) if ok else 0.0
            w_sum[k] += w if ok else 0.0
            n[k] += ok


@njit(nogil=True, cache=True)
def _mean_finish(a, w_sum, n, plain, out, count):
    """The means from the sums (NaN where no frame contributed) and the counts."""
    for k in range(a.shape[0]):
        total = np.float64(n[k]) if plain else w_sum[k]
        out[k] = a[k] / total if n[k] > 0 else np.nan
        count[k] = n[k]


@njit(nogil=True, cache=True)
def _mean_kernel(data, stride, nframe, npix, mask, mask_stride, has_mask, scale, weights, lower,
                 upper, plain, out, count):
    """Weighted mean over the frames of one tile in one pass. Pixels go ``_PIXELS`` at a time,
    so their sums stay in the L1 cache while every frame streams through."""
    acc = np.empty(_PIXELS)
    wsum = np.empty(_PIXELS)
    hits = np.empty(_PIXELS, dtype=np.int32)  # counts
    for start in range(0, npix, _PIXELS):
        width = min(_PIXELS, npix - start)
        a = acc[:width]
        w_sum = wsum[:width]
        n = hits[:width]
        a[:] = 0.0
        w_sum[:] = 0.0
        n[:] = 0.0
        _mean_add(data, stride, nframe, 0, start, width, mask, mask_stride, has_mask, scale,
                  weights, lower, upper, plain, a, w_sum, n)
        _mean_finish(a, w_sum, n, plain, out[start:start + width], count[start:start + width])


@njit(nogil=True, cache=True)
def _mean_add_blocks(flats, strides, counts, firsts, npix, scale, weights, lower, upper, plain,
                     acc, wsum, hits):
    """Add blocks of frames (no mask; block ``b`` is ``counts[b]`` frames from frame
    ``firsts[b]`` on, frame after frame ``strides[b]`` apart in ``flats[b]``) into the sums of
    a tile: ``_PIXELS`` pixels at a time through every block, so the sums stay in the L1 cache
    and are read from memory once per call, not once per block."""
    no_mask = np.zeros(1, dtype=np.bool_)
    for start in range(0, npix, _PIXELS):
        end = min(npix, start + _PIXELS)
        a, w_sum, n = acc[start:end], wsum[start:end], hits[start:end]
        if not plain:
            for b in range(len(flats)):
                _mean_add(flats[b], strides[b], counts[b], firsts[b], start, end - start,
                          no_mask, 0, False, scale, weights, lower, upper, plain, a, w_sum, n)
            continue
        held = 0  # frames go in fours across the blocks (blocks are often one frame)
        r0 = r1 = r2 = flats[0][start:start]
        for b in range(len(flats)):
            for f in range(counts[b]):
                row = flats[b][f * strides[b] + start:f * strides[b] + end]
                if held == 3:
                    _plain_add_four(r0, r1, r2, row, a, n)
                elif held == 2:
                    r2 = row
                elif held == 1:
                    r1 = row
                else:
                    r0 = row
                held = (held + 1) % 4
        _plain_add_rest(r0, r1, r2, held, a, n)


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
def _sorted_kernel(data, stride, nframe, npix, mask, mask_stride, has_mask, scale, weights,
                   lower, upper, network, method, nlow, nhigh, use_median, use_mad, maxiters,
                   sigma_lower, sigma_upper, out, count, values, ordered, uniform):
    """Median, sigma-clipped mean or min/max-rejected mean of each pixel.

    Pixels are handled ``_BLOCK`` at a time: their valid values (invalid ones as +inf) are
    sorted by a sorting network whose compare-exchanges run across the pixels of the block
    (branch-free, vectorised); then each pixel reads what it needs from its sorted column.
    ``values`` and ``ordered`` are ``(frames, _BLOCK)`` work buffers; float32 ones suffice
    (and sort twice as fast) when the values need no scaling. The data and mask are laid out
    as for :func:`_mean_kernel`; each value is read once.
    """
    valid = np.zeros(_BLOCK, dtype=np.int64)
    column = np.empty(nframe)
    infinity = values.dtype.type(np.inf)
    for start in range(0, npix, _BLOCK):
        width = min(_BLOCK, npix - start)
        valid[:] = 0
        for f in range(nframe):
            s = scale[f]
            for k in range(width):
                v = float(data[f * stride + start + k])
                ok = v - v == 0.0 and lower <= v <= upper  # finite, inside the thresholds
                if has_mask:
                    ok = ok and not mask[f * mask_stride + start + k]
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
    dtype: type = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Combine ``data`` (frames first, any trailing shape) over axis 0.

    Returns the combined values (computed in float64, stored as ``dtype``, NaN where nothing
    survived) and the number of frames that contributed to each pixel.
    """
    nframe = data.shape[0]
    shape = data.shape[1:]
    flat, stride = frame_rows(data)
    npix = math.prod(shape)
    has_mask = mask is not None
    flat_mask, mask_stride = (frame_rows(np.asarray(mask, dtype=np.bool_)) if has_mask
                              else (np.zeros(1, dtype=np.bool_), 0))
    scale = np.ones(nframe) if scale is None else np.asarray(scale, dtype=np.float64)
    weights = np.ones(nframe) if weights is None else np.asarray(weights, dtype=np.float64)
    out = np.empty(npix, dtype=dtype)
    count = np.zeros(npix, dtype=np.int32)
    if method == MEAN:
        _mean_kernel(flat, stride, nframe, npix, flat_mask, mask_stride, has_mask, scale,
                     weights, lower, upper, _plain(has_mask, lower, upper, scale, weights),
                     out, count)
    else:
        exact32 = flat.dtype.itemsize <= 2 or flat.dtype == np.float32
        work = np.float32 if exact32 and np.all(scale == 1.0) else np.float64
        values = np.empty((nframe, _BLOCK), dtype=work)
        _sorted_kernel(flat, stride, nframe, npix, flat_mask, mask_stride, has_mask, scale,
                       weights, lower, upper, _network(nframe), method, nlow, nhigh, use_median,
                       use_mad, maxiters, sigma_lower, sigma_upper, out, count, values,
                       np.empty_like(values), bool(np.all(weights == weights[0])))
    return out.reshape(shape), count.reshape(shape)


def _plain(has_mask: bool, lower: float, upper: float, scale: np.ndarray,
           weights: np.ndarray) -> bool:
    """Whether a mean needs no mask, thresholds, scales or weights (its fastest loop)."""
    return (not has_mask and lower == -np.inf and upper == np.inf
            and bool(np.all(scale == 1.0)) and bool(np.all(weights == 1.0)))


class MeanSums(NamedTuple):
    """The running sums of a mean over frames, per pixel of a tile (flat): the weighted sum of
    the valid values, the sum of their weights and their count; ``plain`` when the mean has
    no scales, weights or thresholds (then only the values and counts are summed)."""

    values: np.ndarray  # float64
    weights: np.ndarray  # float64
    counts: np.ndarray  # int32
    plain: bool


def start_mean(shape: tuple[int, ...], nframe: int, *, scale: np.ndarray | None = None,
               weights: np.ndarray | None = None, lower: float = -np.inf,
               upper: float = np.inf) -> MeanSums:
    """Empty sums for the mean of ``nframe`` frames over a tile of ``shape`` (the trailing
    shape of the frames), with the stack's per-frame ``scale`` and ``weights`` and the
    ``lower``/``upper`` thresholds.

    >>> sums = start_mean((2, 3), 4)
    >>> sums.values.shape, sums.plain
    ((6,), True)
    """
    npix = math.prod(shape)
    plain = _plain(False, lower, upper, *_per_frame_factors(nframe, scale, weights))
    return MeanSums(np.zeros(npix), np.zeros(npix), np.zeros(npix, dtype=np.int32), plain)


def _per_frame_factors(nframe: int, scale: np.ndarray | None,
                       weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    return (np.ones(nframe) if scale is None else np.asarray(scale, dtype=np.float64),
            np.ones(nframe) if weights is None else np.asarray(weights, dtype=np.float64))


def add_to_mean(
    sums: MeanSums,
    blocks: Sequence[np.ndarray],
    first: int = 0,
    *,
    scale: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    lower: float = -np.inf,
    upper: float = np.inf,
) -> MeanSums:
    """Add ``blocks`` (each frames first, the tile's shape after; in frame order, the first
    being frame ``first`` of the stack) into ``sums``, in place, and return them.

    ``scale``, ``weights`` and the thresholds are those given to :func:`start_mean`. The
    values are added frame after frame in float64, as :func:`combine_tile`'s mean adds them,
    so sums carried from call to call over the frames give its result to the bit; each block
    is read in place (views of a decoded or memory-mapped chunk stay views).

    >>> sums = add_to_mean(start_mean((2,), 3), [np.array([[1.0, 2.0]], "f4")])
    >>> sums = add_to_mean(sums, [np.array([[3.0, np.nan], [5.0, 4.0]], "f4")], first=1)
    >>> out, n = finish_mean(sums, (2,), np.float32)
    >>> out.tolist(), n.tolist()
    ([3.0, 3.0], [3, 2])
    >>> stack = np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 4.0]], "f4")
    >>> bool(np.array_equal(out, combine_tile(stack, MEAN)[0]))
    True
    """
    last = first + sum(block.shape[0] for block in blocks)
    scale, weights = _per_frame_factors(last, scale, weights)
    rows = [frame_rows(block) for block in blocks]
    firsts = np.cumsum([first] + [block.shape[0] for block in blocks])[:-1].tolist()
    for at in range(0, len(rows), _BLOCKS_PER_CALL):
        batch = rows[at:at + _BLOCKS_PER_CALL]
        padding = [0] * (_BLOCKS_PER_CALL - len(batch))  # empty blocks: they add nothing
        counts = [block.shape[0] for block in blocks[at:at + _BLOCKS_PER_CALL]] + padding
        flats = tuple(flat for flat, _ in batch) + (batch[0][0][:0],) * len(padding)
        strides = [stride for _, stride in batch] + padding
        _mean_add_blocks(flats, np.array(strides), np.array(counts),
                         np.array(firsts[at:at + _BLOCKS_PER_CALL] + padding),
                         sums.values.size, scale, weights, lower, upper, sums.plain,
                         sums.values, sums.weights, sums.counts)
    return sums


def finish_mean(sums: MeanSums, shape: tuple[int, ...],
                dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The mean of a tile of ``shape`` from its ``sums`` (NaN where no frame counted) and the
    count of values behind each pixel.

    >>> sums = add_to_mean(start_mean((1,), 2), [np.array([[2.0], [4.0]], "f4")])
    >>> finish_mean(sums, (1,))[0].tolist()
    [3.0]
    """
    out = np.empty(sums.values.size, dtype=dtype)
    count = np.empty(sums.values.size, dtype=np.int32)
    _mean_finish(sums.values, sums.weights, sums.counts, sums.plain, out, count)
    return out.reshape(shape), count.reshape(shape)


def frame_rows(array: np.ndarray) -> tuple[np.ndarray, int]:
    """``array`` (frames first) as one flat, read-only run of memory and the distance between
    its frames: frame ``f``'s pixel ``p`` is ``flat[f * stride + p]``.

    Views stay in place (a memory-mapped chunk, a band of its rows, a mask broadcast over the
    frames); only an array whose pixels within a frame are not evenly spaced is copied.

    >>> chunk = np.arange(24, dtype="f4").reshape(2, 3, 4)
    >>> flat, stride = frame_rows(chunk[:, 1:])  # rows 1-2 of each frame, not contiguous
    >>> stride, float(flat[stride + 0]), np.shares_memory(flat, chunk)
    (12, 16.0, True)
    """
    nframe = array.shape[0]
    rows = array.reshape(nframe, -1)  # numpy copies only if no view can be made
    npix = rows.shape[1]
    itemsize = rows.itemsize
    if ((npix > 1 and rows.strides[1] != itemsize)
            or (nframe > 1 and (rows.strides[0] < 0 or rows.strides[0] % itemsize))):
        rows = np.ascontiguousarray(rows)
    stride = rows.strides[0] // itemsize if nframe > 1 else npix
    span = (nframe - 1) * stride + npix
    return as_strided(rows, shape=(span,), strides=(itemsize,), writeable=False), stride
