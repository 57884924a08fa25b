"""The ``history`` attribute: one line per processing step, like FITS ``HISTORY`` cards.

>>> attrs = add_history({}, "combine", method="median", frames=3)
>>> attrs["history"][-1].split(" ", 1)[1]
"wisehub.reduce.combine(method='median', frames=3)"
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wisehub.conventions.accessor import PID_ATTR


def add_history(attrs: dict[str, Any], step: str, **params: Any) -> dict[str, Any]:
    """A copy of ``attrs`` whose ``history`` list ends with this step and its parameters.

    The link to a lineage product (``pid``) is dropped: a reduction's result is new data,
    which becomes a product of its own only when it is stored.
    """
    shown = ", ".join(f"{key}={value!r}" for key, value in params.items())
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    history = list(attrs.get("history", []))
    if isinstance(attrs.get("history"), str):
        history = [attrs["history"]]
    history.append(f"{stamp} wisehub.reduce.{step}({shown})")
    kept = {k: v for k, v in attrs.items() if k != PID_ATTR}
    return {**kept, "history": history}
