"""A small MUSE-like integral-field cube: an emission-line galaxy at a known redshift.

Also a table of nearby galaxies with independent distances and velocities, so pupils can add
their own measurement and find Hubble's law.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

C_KM_S = 299792.458
H0_TRUE = 70.0  # km/s/Mpc
REST_LINES_AA = {  # air wavelengths
    "H-beta": 4861.33,
    "[OIII]4959": 4958.91,
    "[OIII]5007": 5006.84,
    "[NII]6548": 6548.05,
    "H-alpha": 6562.80,
    "[NII]6584": 6583.45,
    "[SII]6717": 6716.44,
    "[SII]6731": 6730.82,
}
LINE_RATIO = {
    "H-beta": 1.0,
    "[OIII]4959": 0.9,
    "[OIII]5007": 2.7,
    "[NII]6548": 0.35,
    "H-alpha": 2.9,
    "[NII]6584": 1.05,
    "[SII]6717": 0.5,
    "[SII]6731": 0.38,
}
WAVE_START, WAVE_END = 4750.0, 9350.0


def make_cube(side: int, step_aa: float, redshift: float, seed: int) -> fits.PrimaryHDU:
    """A cube (wavelength, y, x) in 1e-20 erg/s/cm²/Å with a rotating disk galaxy.

    >>> hdu = make_cube(side=12, step_aa=10.0, redshift=0.03, seed=1)
    >>> hdu.data.shape[1:], hdu.header["CTYPE3"]
    ((12, 12), 'AWAV')
    """
    rng = np.random.default_rng(seed)
    wave = np.arange(WAVE_START, WAVE_END, step_aa)
    yy, xx = np.mgrid[0:side, 0:side] - (side - 1) / 2
    scale = side / 6
    disk = np.exp(-np.hypot(xx, yy) / scale)
    # Rotation: line-of-sight velocity rises along x, flattening at 150 km/s.
    v_los = 150.0 * np.tanh(xx / scale)
    z_spaxel = (1 + redshift) * (1 + v_los / C_KM_S) - 1
    continuum = 2.0 + 1.5 * (wave / 7000.0) ** -1.0
    cube = disk[None] * continuum[:, None, None]
    sigma_aa = 2.5
    for name, rest in REST_LINES_AA.items():
        centre = rest * (1 + z_spaxel)
        profile = np.exp(-0.5 * ((wave[:, None, None] - centre[None]) / sigma_aa) ** 2)
        cube += 40.0 * LINE_RATIO[name] * disk[None] * profile
    cube += rng.normal(0.0, 0.15, cube.shape)
    header = fits.Header()
    header["BUNIT"] = "1e-20 erg/s/cm2/Angstrom"
    header["OBJECT"] = "WH-GAL-1"
    header["INSTRUME"] = "WH-IFU"
    header["CTYPE1"], header["CTYPE2"], header["CTYPE3"] = "RA---TAN", "DEC--TAN", "AWAV"
    header["CUNIT3"] = "Angstrom"
    header["CRPIX1"], header["CRPIX2"], header["CRPIX3"] = (side + 1) / 2, (side + 1) / 2, 1.0
    header["CRVAL1"], header["CRVAL2"], header["CRVAL3"] = 180.25, -1.5, float(wave[0])
    header["CD1_1"], header["CD2_2"] = -0.2 / 3600, 0.2 / 3600
    header["CD3_3"] = step_aa
    header["CD1_2"] = header["CD2_1"] = 0.0
    header["CD1_3"] = header["CD2_3"] = header["CD3_1"] = header["CD3_2"] = 0.0
    header["REDSHIFT"] = (redshift, "true systemic redshift (sample truth)")
    return fits.PrimaryHDU(data=cube.astype(np.float32), header=header)


def hubble_table(n: int, seed: int, cube_distance_mpc: float) -> dict[str, np.ndarray]:
    """Nearby galaxies: distance (Mpc, from standard candles) and recession velocity (km/s).

    The cube's galaxy is included with its distance only: its velocity is for pupils to measure.

    >>> t = hubble_table(5, seed=1, cube_distance_mpc=150.0)
    >>> int(np.isnan(t["velocity_km_s"]).sum())
    1
    """
    rng = np.random.default_rng(seed)
    distance = np.sort(rng.uniform(10.0, 400.0, n))
    velocity = H0_TRUE * distance * (1 + rng.normal(0.0, 0.06, n)) + rng.normal(0, 150, n)
    names = np.array([f"WH-GAL-{i + 2}" for i in range(n)] + ["WH-GAL-1"])
    return {
        "name": names,
        "distance_mpc": np.append(distance, cube_distance_mpc),
        "velocity_km_s": np.append(velocity, np.nan),
    }
