"""A calibration timeline like Astro-WISE's CalTS: validity windows per type, chip and filter.

Each row is one calibration type on one chip (and filter). A window is drawn as *in use* where
calibration selection would pick it (``is_valid >= 1``, ``quality_flags == 0``, newest creation
wins), *eclipsed* where a newer usable product covers it, and *flagged* or *invalid* in a lower
lane. Inputs are lineage products (``ProductView``) or any objects with the same attributes.

>>> from types import SimpleNamespace as P
>>> old = P(type="MasterBias", name="b1", created_at=1, valid_from=0.0, valid_to=2.0,
...         is_valid=1, quality_flags=0, attrs={"chip": "ccd1"})
>>> new = P(type="MasterBias", name="b2", created_at=2, valid_from=1.0, valid_to=3.0,
...         is_valid=1, quality_flags=0, attrs={"chip": "ccd1"})
>>> [(s.name, s.state, s.start, s.end) for s in timeline_segments([old, new])]
[('b2', 'in use', 1.0, 3.0), ('b1', 'in use', 0.0, 1.0), ('b1', 'eclipsed', 1.0, 2.0)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import holoviews as hv
import pandas as pd

from wisehub.viz._backends import styled

STATE_COLOURS = {
    "in use": "#2ca02c",
    "eclipsed": "#9edae5",
    "flagged": "#ff7f0e",
    "invalid": "#d62728",
}
_LANES = {"in use": (-0.15, 0.4), "eclipsed": (-0.15, 0.4),
          "flagged": (-0.45, -0.22), "invalid": (-0.45, -0.22)}


@dataclass(frozen=True)
class Segment:
    """One drawn piece of a validity window."""

    row: str
    name: str
    state: str
    start: float
    end: float


def _row(product: Any) -> str:
    attrs = getattr(product, "attrs", {}) or {}
    parts = [product.type, attrs.get("chip"), attrs.get("filter")]
    return " ".join(str(p) for p in parts if p)


def _subtract(piece: tuple[float, float], covers: list[tuple[float, float]]):
    """Split ``piece`` into (uncovered, covered) interval lists."""
    free, covered = [piece], []
    for c0, c1 in covers:
        remaining = []
        for a, b in free:
            lo, hi = max(a, c0), min(b, c1)
            if lo >= hi:
                remaining.append((a, b))
                continue
            covered.append((lo, hi))
            remaining += [(x, y) for x, y in ((a, lo), (hi, b)) if y > x]
        free = remaining
    return free, sorted(covered)


def timeline_segments(products: Iterable[Any]) -> list[Segment]:
    """The drawn pieces of every product's validity window (products without one are skipped).

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> bad = P(type="MasterDark", name="d1", created_at=1, valid_from=0.0, valid_to=1.0,
    ...         is_valid=0, quality_flags=0)
    >>> none = P(type="MasterDark", name="d2", created_at=2, valid_from=None, valid_to=None,
    ...          is_valid=1, quality_flags=0)
    >>> [(s.name, s.state) for s in timeline_segments([bad, none])]
    [('d1', 'invalid')]
    """
    rows: dict[str, list[Any]] = {}
    for p in products:
        if p.valid_from is not None and p.valid_to is not None:
            rows.setdefault(_row(p), []).append(p)
    segments: list[Segment] = []
    for row, members in rows.items():
        usable: list[tuple[float, float]] = []
        for p in sorted(members, key=lambda p: p.created_at, reverse=True):
            window = (float(p.valid_from), float(p.valid_to))
            if p.is_valid == 0 or p.quality_flags:
                state = "invalid" if p.is_valid == 0 else "flagged"
                segments.append(Segment(row, p.name, state, *window))
                continue
            free, covered = _subtract(window, usable)
            segments += [Segment(row, p.name, "in use", a, b) for a, b in free]
            segments += [Segment(row, p.name, "eclipsed", a, b) for a, b in covered]
            usable.append(window)
    return segments


def calibration_timeline(products: Iterable[Any], *, title: str = "Calibration timeline",
                         time_label: str = "MJD", width: int = 800) -> hv.Overlay:
    """Draw validity windows, one row per calibration type, chip and filter (like CalTS).

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> bias = P(type="MasterBias", name="b1", created_at=1, valid_from=0.0, valid_to=2.0,
    ...          is_valid=1, quality_flags=0)
    >>> type(calibration_timeline([bias])).__name__
    'Overlay'
    """
    segments = timeline_segments(products)
    if not segments:
        raise ValueError("no product has a validity window (valid_from/valid_to) to draw")
    rows = sorted({s.row for s in segments})
    index = {row: i for i, row in enumerate(rows)}
    frame = pd.DataFrame(
        [(s.start, index[s.row] + _LANES[s.state][0], s.end, index[s.row] + _LANES[s.state][1],
          s.state, s.name, s.row) for s in segments],
        columns=["start", "y0", "end", "y1", "state", "name", "row"],
    )
    frame["colour"] = frame["state"].map(STATE_COLOURS)
    boxes = hv.Rectangles(frame, kdims=["start", "y0", "end", "y1"],
                          vdims=["state", "name", "row", "colour"])
    keys = [styled(hv.Scatter([], label=state), common={"color": colour, "marker": "s"})
            for state, colour in STATE_COLOURS.items()]  # legend entries only
    common = {"color": "colour", "yticks": list(enumerate(rows)), "xlabel": time_label,
              "ylabel": "", "title": title}
    boxes = styled(boxes, common=common,
                   bokeh={"tools": ["hover"], "width": width, "height": 80 + 40 * len(rows),
                          "line_color": "white"},
                   matplotlib={"edgecolor": "white", "aspect": 3, "xformatter": "%.1f"})
    overlay = hv.Overlay([boxes, *keys])
    return styled(overlay, common={"legend_position": "right"})
