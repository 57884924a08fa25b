"""FITS image sections (``BIASSEC``, ``TRIMSEC``, ``DATASEC``) as numpy slices.

FITS sections are 1-based, inclusive, and name the fastest axis (x) first.

>>> section_slices("[1:2048,1:4096]")
(slice(0, 4096, None), slice(0, 2048, None))
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"^\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]$")


def section_slices(section: str) -> tuple[slice, slice]:
    """``(y, x)`` slices for a FITS section string ``[x1:x2,y1:y2]`` (ascending ranges)."""
    match = _SECTION.match(str(section).strip())
    if not match:
        raise ValueError(f"image section {section!r} is not of the form '[x1:x2,y1:y2]'")
    x1, x2, y1, y2 = (int(v) for v in match.groups())
    if min(x1, y1) < 1 or x2 < x1 or y2 < y1:
        raise ValueError(f"image section {section!r} must be 1-based with ascending ranges")
    return slice(y1 - 1, y2), slice(x1 - 1, x2)
