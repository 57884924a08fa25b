"""The sky the sample camera looks at: a star field with known positions and magnitudes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from wisehub.samples.camera import PIXEL_SCALE_ARCSEC, Camera, Chip

FIELD_CENTRE = (150.1, 2.2)  # RA, Dec in degrees (a COSMOS-like field)
ZEROPOINT = {"g": 25.0, "r": 25.3}  # magnitude giving 1 e-/s
SKY_RATE = {"g": 12.0, "r": 20.0}  # sky background, e-/s/pixel
PSF_FWHM_PIX = 3.0


@dataclass
class StarField:
    """Stars with their true sky positions (degrees) and magnitudes per filter."""

    ra: np.ndarray
    dec: np.ndarray
    mag: dict[str, np.ndarray]

    @classmethod
    def draw(cls, camera: Camera, seed: int, density_per_mpix: float = 3000.0) -> StarField:
        """Scatter stars uniformly over the mosaic (with margin for dithers).

        Magnitudes follow a rising number count (more faint stars than bright ones).

        >>> from wisehub.samples.camera import Camera
        >>> sf = StarField.draw(Camera.build(1, 64, seed=1), seed=2)
        >>> len(sf.ra) == len(sf.mag["g"]) > 0
        True
        """
        rng = np.random.default_rng(seed)
        cols, rows = camera.layout
        width_deg = (cols * (camera.nx + camera.gap) + 40) * PIXEL_SCALE_ARCSEC / 3600
        height_deg = (rows * (camera.ny + camera.gap) + 40) * PIXEL_SCALE_ARCSEC / 3600
        n = max(8, int(density_per_mpix * cols * rows * camera.nx * camera.ny / 1e6))
        ra0, dec0 = FIELD_CENTRE
        dec = dec0 + rng.uniform(-0.5, 0.5, n) * height_deg
        ra = ra0 + rng.uniform(-0.5, 0.5, n) * width_deg / np.cos(np.radians(dec0))
        r_mag = 15.0 + 7.0 * rng.power(2.5, n)
        g_mag = r_mag + rng.uniform(0.2, 1.2, n)
        return cls(ra=ra, dec=dec, mag={"r": r_mag, "g": g_mag})

    def truth(self) -> dict[str, list[float]]:
        """The catalogue as plain lists, for the truth file."""
        return {
            "ra": self.ra.tolist(),
            "dec": self.dec.tolist(),
            **{f"mag_{f}": m.tolist() for f, m in self.mag.items()},
        }


def chip_wcs(camera: Camera, chip: Chip, pointing: tuple[float, float]) -> WCS:
    """A TAN WCS for one chip, with the optical axis at the mosaic centre and north up.

    >>> from wisehub.samples.camera import Camera
    >>> cam = Camera.build(1, 64, seed=1)
    >>> w = chip_wcs(cam, cam.chips[0], (150.0, 2.0))
    >>> [round(float(v), 3) for v in w.wcs.crval]
    [150.0, 2.0]
    """
    x0, y0 = camera.chip_origin(chip)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(pointing)
    wcs.wcs.crpix = [1.0 - x0, 1.0 - y0]  # FITS pixels are 1-based
    scale = PIXEL_SCALE_ARCSEC / 3600
    wcs.wcs.cd = [[-scale, 0.0], [0.0, scale]]
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.equinox = 2000.0
    return wcs


def render_stars(
    stars: StarField, wcs: WCS, shape: tuple[int, int], filt: str, exptime: float
) -> np.ndarray:
    """Expected electrons from stars (Gaussian PSF) on one chip in one exposure."""
    ny, nx = shape
    x, y = wcs.world_to_pixel_values(stars.ra, stars.dec)
    flux = exptime * 10 ** (-0.4 * (stars.mag[filt] - ZEROPOINT[filt]))
    sigma = PSF_FWHM_PIX / 2.3548
    half = int(np.ceil(5 * sigma))
    image = np.zeros(shape)
    inside = (x > -half) & (x < nx + half) & (y > -half) & (y < ny + half)
    for xs, ys, f in zip(x[inside], y[inside], flux[inside], strict=True):
        x_lo, x_hi = max(0, int(xs) - half), min(nx, int(xs) + half + 1)
        y_lo, y_hi = max(0, int(ys) - half), min(ny, int(ys) + half + 1)
        if x_lo >= x_hi or y_lo >= y_hi:
            continue
        gx = np.exp(-0.5 * ((np.arange(x_lo, x_hi) - xs) / sigma) ** 2)
        gy = np.exp(-0.5 * ((np.arange(y_lo, y_hi) - ys) / sigma) ** 2)
        image[y_lo:y_hi, x_lo:x_hi] += f * np.outer(gy, gx) / (2 * np.pi * sigma**2)
    return image
