"""Matching catalogue entries by their metadata: text, instrument, time range and sky cone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from astropy.coordinates import SkyCoord
from astropy.time import Time

TEXT_FIELDS = ("title", "description", "instrument", "telescope", "creator", "kind")


def matches_text(name: str, metadata: Mapping[str, Any], text: str) -> bool:
    """Whether every word of ``text`` occurs in the name or descriptive metadata.

    >>> matches_text("ifu.cube", {"title": "A galaxy cube"}, "Galaxy IFU")
    True
    """
    haystack = " ".join([name, *(str(metadata.get(k, "")) for k in TEXT_FIELDS)]).lower()
    return all(word in haystack for word in text.lower().split())


def matches_instrument(metadata: Mapping[str, Any], instrument: str) -> bool:
    """Case-insensitive instrument equality.

    >>> matches_instrument({"instrument": "WHCAM"}, "whcam")
    True
    """
    return str(metadata.get("instrument", "")).lower() == instrument.lower()


def _as_time(value: str | datetime | Time) -> Time:
    return value if isinstance(value, Time) else Time(value)


def overlaps_time(
    metadata: Mapping[str, Any],
    start: str | datetime | Time | None,
    end: str | datetime | Time | None,
) -> bool:
    """Whether the entry's ``time_start``–``time_end`` overlaps the requested range.

    Entries without a time range never match a time search.

    >>> overlaps_time({"time_start": "2024-03-01", "time_end": "2024-03-05"}, "2024-03-04", None)
    True
    """
    if "time_start" not in metadata or "time_end" not in metadata:
        return False
    entry_start, entry_end = _as_time(metadata["time_start"]), _as_time(metadata["time_end"])
    return (end is None or entry_start <= _as_time(end)) and (
        start is None or entry_end >= _as_time(start)
    )


def within_cone(metadata: Mapping[str, Any], ra: float, dec: float, radius_deg: float) -> bool:
    """Whether the entry's footprint (centre + radius) touches a cone on the sky.

    >>> within_cone({"ra": 150.1, "dec": 2.2, "radius_deg": 0.1}, 150.15, 2.2, 0.01)
    True
    """
    if "ra" not in metadata or "dec" not in metadata:
        return False
    centre = SkyCoord(metadata["ra"], metadata["dec"], unit="deg")
    separation = centre.separation(SkyCoord(ra, dec, unit="deg")).deg
    return bool(separation <= radius_deg + float(metadata.get("radius_deg", 0.0)))
