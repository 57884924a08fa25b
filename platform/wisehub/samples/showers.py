"""KASCADE-like extensive air-shower events, with energies from a spectrum that has a knee."""

from __future__ import annotations

import numpy as np

# From 1 PeV, so that about 8 % of showers lie above the knee and its position can be fitted.
E_MIN_EV, E_KNEE_EV, E_MAX_EV = 1e15, 4e15, 1e18
GAMMA_BELOW, GAMMA_ABOVE = 2.7, 3.1  # dN/dE ∝ E^-gamma
ZENITH_MAX_DEG = 40.0
ARRAY_HALF_SIZE_M = 100.0
START_UNIX = 1_577_836_800  # 2020-01-01


def _power_law(rng: np.random.Generator, n: int, lo: float, hi: float, gamma: float) -> np.ndarray:
    a = 1.0 - gamma
    u = rng.uniform(0.0, 1.0, n)
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def draw_energies(n: int, rng: np.random.Generator) -> np.ndarray:
    """Energies (eV) from a broken power law, continuous at the knee.

    >>> e = draw_energies(1000, np.random.default_rng(1))
    >>> bool(e.min() >= E_MIN_EV and e.max() <= E_MAX_EV)
    True
    """

    # Integral of each segment of the continuous broken power law (normalised at the knee).
    def integral(lo: float, hi: float, gamma: float) -> float:
        a = 1.0 - gamma
        return E_KNEE_EV * ((hi / E_KNEE_EV) ** a - (lo / E_KNEE_EV) ** a) / a

    below = integral(E_MIN_EV, E_KNEE_EV, GAMMA_BELOW)
    above = integral(E_KNEE_EV, E_MAX_EV, GAMMA_ABOVE)
    n_above = rng.binomial(n, above / (below + above))
    energies = np.concatenate(
        [
            _power_law(rng, n - n_above, E_MIN_EV, E_KNEE_EV, GAMMA_BELOW),
            _power_law(rng, n_above, E_KNEE_EV, E_MAX_EV, GAMMA_ABOVE),
        ]
    )
    return rng.permutation(energies)


def make_events(n: int, seed: int) -> dict[str, np.ndarray]:
    """A table of ``n`` air-shower events, sorted in time.

    Columns: time (unix s), energy (eV), zenith and azimuth (deg), shower size (electrons, Ne),
    muon number (Nmu), core position x/y (m).

    >>> ev = make_events(100, seed=3)
    >>> sorted(ev)[:3]
    ['azimuth_deg', 'core_x_m', 'core_y_m']
    """
    rng = np.random.default_rng(seed)
    energy = draw_energies(n, rng)
    cos2_min = np.cos(np.radians(ZENITH_MAX_DEG)) ** 2  # flat detector: dN ∝ sin θ cos θ dθ
    zenith = np.degrees(np.arccos(np.sqrt(rng.uniform(cos2_min, 1.0, n))))
    log_e15 = np.log10(energy / 1e15)
    attenuation = 1.0 / np.cos(np.radians(zenith)) - 1.0
    log_ne = 5.6 + 1.05 * log_e15 - 0.9 * attenuation + rng.normal(0, 0.12, n)
    log_nmu = 4.35 + 0.88 * log_e15 - 0.2 * attenuation + rng.normal(0, 0.10, n)
    return {
        "time_unix": np.sort(START_UNIX + rng.uniform(0, 365 * 86400, n)),
        "energy_ev": energy,
        "zenith_deg": zenith,
        "azimuth_deg": rng.uniform(0.0, 360.0, n),
        "shower_size": 10**log_ne,
        "muon_number": 10**log_nmu,
        "core_x_m": rng.uniform(-ARRAY_HALF_SIZE_M, ARRAY_HALF_SIZE_M, n),
        "core_y_m": rng.uniform(-ARRAY_HALF_SIZE_M, ARRAY_HALF_SIZE_M, n),
    }
