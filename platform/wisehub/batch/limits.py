"""Checking a job against the user's batch limits before anything is queued.

>>> from wisehub.batch.settings import BatchLimits
>>> try:
...     check_limits(BatchLimits(workers=2), user="ada", groups=[], workers=4, wall_time=60,
...                  active=[])
... except LimitError as err:
...     print(str(err)[:47])
limit workers: the job asks for 4 Dask workers,
"""

from __future__ import annotations

from collections.abc import Sequence

from wisehub.batch.errors import LimitError
from wisehub.batch.settings import BatchLimits


def check_limits(limits: BatchLimits, *, user: str, groups: Sequence[str], workers: int,
                 wall_time: float, active: Sequence[str]) -> None:
    """Raise :class:`LimitError` naming the first limit this job would exceed."""
    who = f"user {user!r} (groups: {', '.join(groups) or 'none'})"
    if workers < 1:
        raise LimitError(f"workers={workers}: a job needs at least one Dask worker")
    if workers > limits.workers:
        raise LimitError(f"limit workers: the job asks for {workers} Dask workers, but {who} "
                         f"may use {limits.workers} per job; ask for fewer workers")
    if wall_time <= 0 or wall_time > limits.wall_time:
        raise LimitError(f"limit wall_time: the job asks for {wall_time:g} s, but {who} may "
                         f"run a job for at most {limits.wall_time:g} s")
    if len(active) >= limits.concurrent_jobs:
        raise LimitError(f"limit concurrent_jobs: {who} may have {limits.concurrent_jobs} "
                         f"job(s) queued or running and has {len(active)} "
                         f"({', '.join(active)}); wait for one to finish or cancel one")
