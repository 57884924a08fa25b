"""The sample imager: a multi-chip CCD camera on a wide-field telescope, with its true properties.

Every number a reduction should recover (bias level, gain, read noise, dark current, flat
pattern, bad pixels) is drawn here from a seed and recorded, so tests know the truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SIZES = {"tiny": 96, "small": 256, "medium": 1024, "large": 2048}
"""Named chip sizes (pixels per side); tests use ``tiny``, the demo ``small``."""

FILTERS = ("g", "r")
SATURATE_ADU = 65535
OVERSCAN_COLUMNS = 16
PIXEL_SCALE_ARCSEC = 0.21


def chip_side(size: str | int) -> int:
    """Pixels per chip side for a named or explicit size.

    >>> chip_side("tiny"), chip_side(300)
    (96, 300)
    """
    if isinstance(size, int) or str(size).isdigit():
        side = int(size)
        if side < 32:
            raise ValueError(f"size {size!r} is too small: chips need at least 32 pixels a side")
        return side
    try:
        return SIZES[str(size)]
    except KeyError:
        raise ValueError(
            f"unknown size {size!r}: use one of {sorted(SIZES)} or a pixel count"
        ) from None


@dataclass
class Chip:
    """One CCD: its electronic properties and its fixed-pattern maps (truth)."""

    name: str
    position: tuple[int, int]  # (column, row) in the mosaic
    gain: float  # e-/ADU
    read_noise: float  # e-
    bias_level: float  # ADU, first night; drifts by ``bias_drift`` per night
    bias_drift: float
    dark_current: float  # e-/s/pixel
    bias_structure: np.ndarray = field(repr=False)  # ADU, (ny, nx + overscan)
    pixel_response: np.ndarray = field(repr=False)  # relative QE, (ny, nx)
    hot_pixels: np.ndarray = field(repr=False)  # (k, 2) y, x
    cold_pixels: np.ndarray = field(repr=False)


@dataclass
class Camera:
    """A mosaic of identical-format chips.

    >>> cam = Camera.build(n_chips=2, side=64, seed=1)
    >>> [c.name for c in cam.chips], cam.ny, cam.nx_raw
    (['ccd1', 'ccd2'], 64, 80)
    """

    chips: list[Chip]
    ny: int
    nx: int
    gap: int
    hot_dark_current: float = 2.0  # e-/s for hot pixels
    cold_response: float = 0.05

    @property
    def nx_raw(self) -> int:
        """Columns read out, including the overscan strip on the right."""
        return self.nx + OVERSCAN_COLUMNS

    @property
    def layout(self) -> tuple[int, int]:
        """Mosaic columns and rows."""
        cols = max(c.position[0] for c in self.chips) + 1
        rows = max(c.position[1] for c in self.chips) + 1
        return cols, rows

    def chip_origin(self, chip: Chip) -> tuple[float, float]:
        """Pixel offset (x, y) of a chip's first pixel from the mosaic's centre."""
        cols, rows = self.layout
        width, height = (
            cols * self.nx + (cols - 1) * self.gap,
            rows * self.ny + (rows - 1) * self.gap,
        )
        x0 = chip.position[0] * (self.nx + self.gap) - width / 2
        y0 = chip.position[1] * (self.ny + self.gap) - height / 2
        return x0, y0

    def vignetting(self, chip: Chip) -> np.ndarray:
        """Illumination falling off with distance from the optical axis (mosaic centre)."""
        x0, y0 = self.chip_origin(chip)
        yy, xx = np.mgrid[0 : self.ny, 0 : self.nx].astype(np.float64)
        cols, rows = self.layout
        radius = 0.5 * np.hypot(cols * self.nx, rows * self.ny)
        r2 = ((xx + x0) ** 2 + (yy + y0) ** 2) / radius**2
        return 1.0 - 0.12 * r2

    @classmethod
    def build(cls, n_chips: int, side: int, seed: int) -> Camera:
        """Draw a camera: per-chip gain, noise, bias, dark and fixed patterns."""
        if n_chips < 1:
            raise ValueError("a camera needs at least one chip")
        rng = np.random.default_rng(seed)
        cols = int(np.ceil(np.sqrt(n_chips)))
        gap = max(2, side // 32)
        chips = []
        for i in range(n_chips):
            ny, nx_raw = side, side + OVERSCAN_COLUMNS
            columns = rng.normal(0.0, 1.5, nx_raw)[None, :]
            ramp = np.linspace(0.0, 4.0, ny)[:, None]
            n_bad = max(3, side * side // 4000)
            chips.append(
                Chip(
                    name=f"ccd{i + 1}",
                    position=(i % cols, i // cols),
                    gain=float(rng.uniform(1.6, 2.4)),
                    read_noise=float(rng.uniform(3.5, 5.5)),
                    bias_level=float(rng.uniform(950.0, 1100.0)),
                    bias_drift=float(rng.uniform(-3.0, 3.0)),
                    dark_current=float(rng.uniform(0.01, 0.03)),
                    bias_structure=(columns + ramp).astype(np.float64),
                    pixel_response=rng.normal(1.0, 0.01, (side, side)),
                    hot_pixels=np.column_stack(
                        [rng.integers(0, side, n_bad), rng.integers(0, side, n_bad)]
                    ),
                    cold_pixels=np.column_stack(
                        [rng.integers(0, side, n_bad), rng.integers(0, side, n_bad)]
                    ),
                )
            )
        return cls(chips=chips, ny=side, nx=side, gap=gap)

    def flat_pattern(self, chip: Chip, filt: str) -> np.ndarray:
        """The true relative response (vignetting × QE × bad pixels) in one filter, mean ~1."""
        colour = 1.0 + (0.02 if filt == "g" else -0.01) * np.linspace(-1, 1, self.nx)[None, :]
        response = self.vignetting(chip) * chip.pixel_response * colour
        response[chip.cold_pixels[:, 0], chip.cold_pixels[:, 1]] = self.cold_response
        return response
