"""Which finished jobs have outlived their retention: one pure rule for both backends.

>>> from datetime import UTC, datetime, timedelta
>>> t = datetime(2026, 1, 2, tzinfo=UTC)
>>> expired({"old": t - timedelta(days=8), "new": t - timedelta(days=1), "running": None},
...         now=t, retention=7 * 86400)
['old']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta


def expired(ended: Mapping[str, datetime | None], *, now: datetime,
            retention: float) -> list[str]:
    """The names whose end time (None: not ended) is more than ``retention`` s before ``now``."""
    cutoff = now - timedelta(seconds=retention)
    return sorted(name for name, end in ended.items() if end is not None and end < cutoff)
