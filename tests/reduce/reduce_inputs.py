"""Small synthetic stacks with the awkward values real frames have: NaNs, saturated pixels
and outliers."""

from __future__ import annotations

import numpy as np
import xarray as xr

SATURATE = 60000.0


def make_stack(nframe: int = 15, ny: int = 30, nx: int = 40, seed: int = 3,
               level: float = 1000.0, noise: float = 5.0) -> xr.DataArray:
    """A float32 stack with NaNs, a pixel NaN in every frame, saturation and outliers."""
    rng = np.random.default_rng(seed)
    data = rng.normal(level, noise, (nframe, ny, nx)).astype(np.float32)
    data[rng.integers(0, nframe, 40), rng.integers(0, ny, 40), rng.integers(0, nx, 40)] = np.nan
    hits = rng.integers(0, nframe, 60), rng.integers(0, ny, 60), rng.integers(0, nx, 60)
    data[hits] += rng.uniform(200, 5000, 60).astype(np.float32)  # cosmic rays
    data[rng.integers(0, nframe, 10), rng.integers(0, ny, 10), rng.integers(0, nx, 10)] = SATURATE
    data[:, 2, 3] = np.nan  # nothing valid here
    data[: nframe // 2, 4, 4] = -500.0  # a cluster of low outliers
    return xr.DataArray(
        data, dims=("frame", "y", "x"),
        coords={"frame": [f"f{i:03d}" for i in range(nframe)],
                "FILTER": ("frame", ["r"] * nframe),
                "EXPTIME": ("frame", np.linspace(10, 30, nframe))},
        attrs={"INSTRUME": "test"},
    )
