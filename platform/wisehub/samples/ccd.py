"""Observing nights with the sample camera, written as raw FITS files as a telescope would.

Each night has bias frames, darks, dome flats per filter, and dithered science exposures of the
star field. Pixel values follow the physics a reduction undoes: a bias level with structure,
read noise, gain, dark current with hot pixels, vignetting and pixel response, sky, stars,
cosmic rays and saturation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.time import Time

from wisehub.samples.camera import FILTERS, OVERSCAN_COLUMNS, SATURATE_ADU, Camera, Chip
from wisehub.samples.sky import FIELD_CENTRE, SKY_RATE, StarField, chip_wcs, render_stars

TELESCOPE = "WH-1.2m"
INSTRUMENT = "WHCAM"
COSMIC_RATE = 3e-6  # hits per pixel per second
DOME_FLAT_ELECTRONS = 18000.0
DITHER_ARCSEC = 12.0


@dataclass(frozen=True)
class NightPlan:
    """How many frames of each kind a night takes (per chip).

    >>> NightPlan().frames_per_chip
    17
    """

    n_bias: int = 5
    n_dark: int = 3
    dark_exptime: float = 300.0
    n_flat: int = 2  # per filter: a pair, so the gain can be measured from it
    flat_exptime: float = 4.0
    n_science: int = 2  # per filter, dithered
    science_exptime: float = 120.0

    @property
    def frames_per_chip(self) -> int:
        return self.n_bias + self.n_dark + len(FILTERS) * (self.n_flat + self.n_science) + 1


@dataclass
class Exposure:
    """One shutter opening (or bias read) of the whole mosaic."""

    imagetyp: str
    filt: str
    exptime: float
    start: datetime
    pointing: tuple[float, float]
    sequence: int


def plan_exposures(night: date, plan: NightPlan, rng: np.random.Generator) -> list[Exposure]:
    """The night's exposures in time order (calibrations at dusk, then science)."""
    t = datetime(night.year, night.month, night.day, 21, 0, 0)
    home = FIELD_CENTRE
    exposures: list[Exposure] = []

    def add(kind: str, filt: str, exptime: float, pointing: tuple[float, float]) -> None:
        nonlocal t
        exposures.append(Exposure(kind, filt, exptime, t, pointing, len(exposures)))
        t += timedelta(seconds=exptime + 30)

    for _ in range(plan.n_bias):
        add("BIAS", "none", 0.0, home)
    for _ in range(plan.n_dark):
        add("DARK", "none", plan.dark_exptime, home)
    for filt in FILTERS:
        for _ in range(plan.n_flat):
            add("FLAT", filt, plan.flat_exptime, home)
    t = datetime(night.year, night.month, night.day, 23, 30, 0)
    for filt in FILTERS:
        for _ in range(plan.n_science):
            dra, ddec = rng.uniform(-DITHER_ARCSEC, DITHER_ARCSEC, 2) / 3600
            add(
                "SCIENCE",
                filt,
                plan.science_exptime,
                (home[0] + dra / np.cos(np.radians(home[1])), home[1] + ddec),
            )
    # A saturated bright-star field exposure in r, useful for saturation handling.
    add("SCIENCE", "r", plan.science_exptime * 10, home)
    return exposures


def bias_level(chip: Chip, night_index: int) -> float:
    """The chip's true bias level (ADU) on a given night: it drifts slowly."""
    return chip.bias_level + chip.bias_drift * night_index


def expose_chip(
    camera: Camera,
    chip: Chip,
    stars: StarField,
    exposure: Exposure,
    night_index: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Raw ADU (uint16, with overscan) for one chip in one exposure, and the cosmic-ray count."""
    shape = (camera.ny, camera.nx)
    electrons = np.zeros(shape)
    dark = np.full(shape, chip.dark_current)
    dark[chip.hot_pixels[:, 0], chip.hot_pixels[:, 1]] = camera.hot_dark_current
    if exposure.imagetyp != "BIAS":
        electrons += dark * exposure.exptime
    if exposure.imagetyp in ("FLAT", "SCIENCE"):
        light = np.full(shape, DOME_FLAT_ELECTRONS if exposure.imagetyp == "FLAT" else 0.0)
        if exposure.imagetyp == "SCIENCE":
            wcs = chip_wcs(camera, chip, exposure.pointing)
            light = SKY_RATE[exposure.filt] * exposure.exptime + render_stars(
                stars, wcs, shape, exposure.filt, exposure.exptime
            )
        electrons += light * camera.flat_pattern(chip, exposure.filt)
    electrons = rng.poisson(np.clip(electrons, 0, None)).astype(np.float64)
    n_rays = 0
    if exposure.imagetyp in ("DARK", "SCIENCE"):
        n_rays = rng.poisson(COSMIC_RATE * exposure.exptime * electrons.size)
        for _ in range(n_rays):
            y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            length, dy, dx = rng.integers(1, 5), rng.integers(-1, 2), rng.integers(-1, 2)
            ys = np.clip(y + dy * np.arange(length), 0, shape[0] - 1)
            xs = np.clip(x + dx * np.arange(length), 0, shape[1] - 1)
            electrons[ys, xs] += rng.uniform(2000, 20000)
    raw = np.zeros((camera.ny, camera.nx_raw))
    raw[:, : camera.nx] = electrons
    raw += rng.normal(0.0, chip.read_noise, raw.shape)
    adu = raw / chip.gain + bias_level(chip, night_index) + chip.bias_structure
    return np.clip(np.round(adu), 0, SATURATE_ADU).astype(np.uint16), int(n_rays)


def frame_header(
    camera: Camera, chip: Chip, exposure: Exposure, night: date, frame_id: str
) -> fits.Header:
    """The FITS header of one raw chip frame, with a correct TAN WCS."""
    header = chip_wcs(camera, chip, exposure.pointing).to_header()
    start = Time(exposure.start, scale="utc")
    object_name = {"BIAS": "BIAS", "DARK": "DARK", "FLAT": "DOMEFLAT"}.get(
        exposure.imagetyp, "COSMOS-WH"
    )
    cards = {
        "TELESCOP": (TELESCOPE, "telescope"),
        "INSTRUME": (INSTRUMENT, "instrument"),
        "OBJECT": (object_name, "target"),
        "IMAGETYP": (exposure.imagetyp, "BIAS, DARK, FLAT or SCIENCE"),
        "FILTER": (exposure.filt, "filter name"),
        "CHIP": (chip.name, "chip in the mosaic"),
        "DETECTOR": (chip.name, "detector name"),
        "EXPTIME": (exposure.exptime, "[s] exposure time"),
        "DATE-OBS": (start.isot, "UTC start of exposure"),
        "MJD-OBS": (round(float(start.mjd), 8), "[d] MJD at start of exposure"),
        "NIGHT": (night.isoformat(), "local date at start of night"),
        "GAIN": (round(chip.gain, 4), "[e-/ADU] nominal gain"),
        "RDNOISE": (round(chip.read_noise, 3), "[e-] nominal read noise"),
        "SATURATE": (SATURATE_ADU, "[ADU] saturation level"),
        "BIASSEC": (
            f"[{camera.nx + 1}:{camera.nx + OVERSCAN_COLUMNS},1:{camera.ny}]",
            "overscan region",
        ),
        "DATASEC": (f"[1:{camera.nx},1:{camera.ny}]", "illuminated region"),
        "TRIMSEC": (f"[1:{camera.nx},1:{camera.ny}]", "region kept after trimming"),
        "FRAMEID": (frame_id, "unique frame identifier"),
        "BUNIT": ("ADU", "pixel unit"),
    }
    for key, (value, comment) in cards.items():
        header[key] = (value, comment)
    return header


def write_night(
    camera: Camera,
    stars: StarField,
    night: date,
    night_index: int,
    out_dir: Path,
    plan: NightPlan,
    rng: np.random.Generator,
) -> dict[str, dict]:
    """Observe one night and write one FITS file per chip and exposure; return per-frame truth."""
    truth: dict[str, dict] = {}
    for exposure in plan_exposures(night, plan, rng):
        for chip in camera.chips:
            kind = exposure.imagetyp.lower()
            frame_id = f"{night.isoformat()}_{chip.name}_{exposure.sequence:03d}_{kind}"
            data, n_rays = expose_chip(camera, chip, stars, exposure, night_index, rng)
            header = frame_header(camera, chip, exposure, night, frame_id)
            path = out_dir / night.isoformat() / f"{frame_id}.fits"
            path.parent.mkdir(parents=True, exist_ok=True)
            fits.PrimaryHDU(data=data, header=header).writeto(path, overwrite=True)
            truth[frame_id] = {
                "pointing": list(exposure.pointing),
                "cosmic_rays": n_rays,
                "bias_level": bias_level(chip, night_index),
                "file": path.name,
            }
    return truth
