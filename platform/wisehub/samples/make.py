"""Make the whole sample set: FITS as a telescope writes it, ingested to Zarr, with its truth."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from wisehub.ingest import ingest_fits, read_cube_fits
from wisehub.samples.camera import FILTERS, Camera, chip_side
from wisehub.samples.ccd import NightPlan, write_night
from wisehub.samples.ifu import C_KM_S, H0_TRUE, hubble_table, make_cube
from wisehub.samples.showers import E_KNEE_EV, GAMMA_ABOVE, GAMMA_BELOW, make_events
from wisehub.samples.sky import PSF_FWHM_PIX, SKY_RATE, ZEROPOINT, StarField
from wisehub.storage.zarrio import write_zarr

FIRST_NIGHT = date(2024, 3, 1)
NIGHT_STEPS = (0, 1, 3, 4, 6, 7, 9, 10)  # a gap now and then, as weather has it
IFU_REDSHIFT = 0.0352
TRUTH_FILE = "truth.json"
MAPS_FILE = "truth_maps.npz"


@dataclass
class SampleSet:
    """Where a sample set lives, its Zarr stores by name, and the truth it was made from."""

    path: Path
    truth: dict[str, Any]
    stores: dict[str, Path] = field(default_factory=dict)

    def maps(self) -> dict[str, np.ndarray]:
        """True per-pixel maps: ``flat_<chip>_<filter>``, ``bias_structure_<chip>``."""
        with np.load(self.path / MAPS_FILE) as npz:
            return dict(npz)


def night_dates(nights: int) -> list[date]:
    """The sample nights' dates.

    >>> [d.isoformat() for d in night_dates(3)]
    ['2024-03-01', '2024-03-02', '2024-03-04']
    """
    if not 1 <= nights <= len(NIGHT_STEPS):
        raise ValueError(f"nights must be between 1 and {len(NIGHT_STEPS)}, got {nights}")
    return [FIRST_NIGHT + timedelta(days=d) for d in NIGHT_STEPS[:nights]]


def make_ccd_fits(
    out_dir: str | os.PathLike,
    size: str | int = "tiny",
    nights: int = 3,
    chips: int = 2,
    seed: int = 2024,
    plan: NightPlan | None = None,
) -> list[Path]:
    """Write raw FITS frames for ``nights`` nights of a ``chips``-chip camera; return the paths.

    >>> files = make_ccd_fits("wh-doc-fits", size=48, nights=1, chips=1)
    >>> len(files) == NightPlan().frames_per_chip
    True
    """
    return _observe(Path(out_dir), size, nights, chips, seed, plan or NightPlan(), False)[0]


def _observe(
    out_dir: Path,
    size: str | int,
    nights: int,
    chips: int,
    seed: int,
    plan: NightPlan,
    progress: bool,
) -> tuple[list[Path], dict[str, Any], Camera]:
    camera = Camera.build(chips, chip_side(size), seed)
    stars = StarField.draw(camera, seed + 1)
    rng = np.random.default_rng(seed + 2)
    frames: dict[str, dict] = {}
    dates = night_dates(nights)
    for index, night in enumerate(tqdm(dates, desc="observing nights", disable=not progress)):
        frames.update(write_night(camera, stars, night, index, out_dir, plan, rng))
    files = sorted(
        out_dir / d.isoformat() / f["file"]
        for d in dates
        for f in frames.values()
        if f["file"].startswith(d.isoformat())
    )
    truth = {
        "nights": [d.isoformat() for d in dates],
        "filters": list(FILTERS),
        "chips": {
            c.name: {
                "gain": c.gain,
                "read_noise": c.read_noise,
                "bias_level": [c.bias_level + c.bias_drift * i for i in range(nights)],
                "dark_current": c.dark_current,
                "hot_pixels": c.hot_pixels.tolist(),
                "cold_pixels": c.cold_pixels.tolist(),
            }
            for c in camera.chips
        },
        "hot_dark_current": camera.hot_dark_current,
        "sky_rate": SKY_RATE,
        "zeropoint": ZEROPOINT,
        "psf_fwhm_pix": PSF_FWHM_PIX,
        "stars": stars.truth(),
        "frames": frames,
    }
    return files, truth, camera


def make_samples(
    out_dir: str | os.PathLike,
    size: str | int = "tiny",
    nights: int = 3,
    chips: int = 2,
    n_events: int = 20000,
    seed: int = 2024,
    *,
    progress: bool = False,
    overwrite: bool = False,
) -> SampleSet:
    """Make (or reuse) the full sample set under ``out_dir``.

    The set is built in a temporary sibling directory and moved into place only when complete.
    An existing set made with the same parameters is reused; a different one needs
    ``overwrite=True``.

    Examples
    --------
    >>> s = make_samples("wh-doc", size="tiny", nights=1, chips=1, n_events=300)
    >>> make_samples("wh-doc", size="tiny", nights=1, chips=1, n_events=300).path == s.path
    True
    >>> make_samples("wh-doc", size="tiny", nights=2, chips=1, n_events=300)
    Traceback (most recent call last):
    ...
    FileExistsError: ...
    """
    out = Path(out_dir)
    params = {"size": size, "nights": nights, "chips": chips, "n_events": n_events, "seed": seed}
    if (out / TRUTH_FILE).exists():
        existing = load_truth(out)
        if existing.truth.get("params") == params:
            return existing
        if not overwrite:
            raise FileExistsError(
                f"{out} holds samples made with {existing.truth.get('params')}; "
                "pass overwrite (--overwrite) to replace them"
            )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.name}.partial-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
    except OSError as err:
        raise PermissionError(f"cannot write samples under {out.parent}: {err.strerror}") from None
    try:
        _build(tmp, params, progress)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return load_truth(out)


def _build(out: Path, params: dict[str, Any], progress: bool) -> None:
    seed = params["seed"]
    files, truth, camera = _observe(
        out / "fits" / "raw",
        params["size"],
        params["nights"],
        params["chips"],
        seed,
        NightPlan(),
        progress,
    )
    truth["params"] = params
    ingest_fits(files, str(out / "raw.zarr"), progress=progress)
    maps = {
        f"flat_{c.name}_{f}": camera.flat_pattern(c, f).astype(np.float32)
        for c in camera.chips
        for f in FILTERS
    }
    maps |= {f"bias_structure_{c.name}": c.bias_structure.astype(np.float32) for c in camera.chips}
    np.savez_compressed(out / MAPS_FILE, **maps)

    side = max(16, chip_side(params["size"]) // 4)
    cube_path = out / "fits" / "ifu" / "cube.fits"
    cube_path.parent.mkdir(parents=True)
    make_cube(side, 2.5, IFU_REDSHIFT, seed + 3).writeto(cube_path)
    write_zarr(read_cube_fits(cube_path).chunk({"wavelength": 256}), str(out / "ifu.zarr"))
    distance = C_KM_S * IFU_REDSHIFT / H0_TRUE
    table = hubble_table(12, seed + 4, distance)
    write_zarr(
        xr.Dataset(
            {k: ("galaxy", v) for k, v in table.items() if k != "name"},
            coords={"galaxy": table["name"]},
        ),
        str(out / "galaxies.zarr"),
    )
    events = make_events(params["n_events"], seed + 5)
    write_zarr(
        xr.Dataset({k: ("event", v) for k, v in events.items()}).chunk({"event": 2**18}),
        str(out / "showers.zarr"),
    )
    truth["ifu"] = {
        "redshift": IFU_REDSHIFT,
        "distance_mpc": distance,
        "h0": H0_TRUE,
        "object": "WH-GAL-1",
    }
    truth["showers"] = {
        "n_events": params["n_events"],
        "knee_ev": E_KNEE_EV,
        "gamma_below": GAMMA_BELOW,
        "gamma_above": GAMMA_ABOVE,
    }
    (out / TRUTH_FILE).write_text(json.dumps(truth, indent=1))


STORES = ("raw", "ifu", "galaxies", "showers")


def load_truth(path: str | os.PathLike) -> SampleSet:
    """Open an existing sample set (its truth and store paths).

    Examples
    --------
    >>> load_truth("nowhere")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no samples at nowhere; run `wisehub samples make`
    """
    path = Path(path)
    try:
        truth = json.loads((path / TRUTH_FILE).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no samples at {path}; run `wisehub samples make`") from None
    return SampleSet(path, truth, {name: path / f"{name}.zarr" for name in STORES})
