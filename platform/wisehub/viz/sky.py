"""RA/Dec axis ticks for images: exact world coordinates at tick positions through the centre.

Bokeh has no curvilinear axes, so an image keeps pixel axes and gets sexagesimal labels computed
with the frame's WCS along the central row and column. That is exact on those lines and the
usual reading for a chip-sized field.

>>> from astropy.wcs import WCS
>>> w = WCS(naxis=2)
>>> w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
>>> w.wcs.crval, w.wcs.crpix, w.wcs.cdelt = [150, 2], [51, 51], [-0.001, 0.001]
>>> ticks = sky_ticks(w, (101, 101), n=3)
>>> ticks.xlabel, ticks.x[1]
('RA', (50.0, '10:00:00.0'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle
from astropy.wcs import WCS


@dataclass(frozen=True)
class SkyTicks:
    """Tick positions (pixels) with labels for both axes, and the axis names."""

    x: list[tuple[float, str]]
    y: list[tuple[float, str]]
    xlabel: str
    ylabel: str


def _label(value: float, is_ra: bool) -> str:
    angle = Angle(value, u.deg)
    if is_ra:
        text = angle.wrap_at(360 * u.deg).to_string(unit=u.hour, sep=":", precision=1, pad=True)
    else:
        text = angle.to_string(unit=u.deg, sep=":", precision=0, alwayssign=True, pad=True)
    return str(text)


def _axis(wcs: WCS, px: np.ndarray, py: np.ndarray) -> tuple[list[str], str]:
    """Ticks along one pixel line, labelled with whichever of RA/Dec changes most along it."""
    ra, dec = wcs.pixel_to_world_values(px, py)
    d_ra = np.ptp(np.unwrap(np.radians(ra))) * np.cos(np.radians(np.mean(dec)))
    is_ra = d_ra >= np.ptp(np.radians(dec))
    values = ra if is_ra else dec
    return [_label(v, is_ra) for v in values], "RA" if is_ra else "Dec"


def sky_ticks(wcs: WCS, shape: tuple[int, int], n: int = 5) -> SkyTicks:
    """``n`` RA/Dec ticks per axis for an image of ``shape`` (ny, nx), 0-based pixel positions."""
    ny, nx = shape
    xs, ys = np.linspace(0, nx - 1, n), np.linspace(0, ny - 1, n)
    xlabels, xname = _axis(wcs, xs, np.full(n, (ny - 1) / 2))
    ylabels, yname = _axis(wcs, np.full(n, (nx - 1) / 2), ys)
    return SkyTicks(
        x=list(zip(xs.tolist(), xlabels, strict=True)),
        y=list(zip(ys.tolist(), ylabels, strict=True)),
        xlabel=xname,
        ylabel=yname,
    )
