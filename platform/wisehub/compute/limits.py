"""Check a request against a user's limits, counting what they already hold.

Adaptive clusters count at their maximum, so adaptive scaling can never exceed a limit.

>>> from wisehub.compute.settings import Limits
>>> check(Limits(workers=4), held=[Demand(workers=3)], new=Demand(workers=2))
Traceback (most recent call last):
...
wisehub.compute.limits.LimitExceeded: limit 'workers' is 4 per user; you hold 3 and asked for 2 more
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ByteSize

from wisehub.compute.settings import Limits


class LimitExceeded(ValueError):
    """A request over a limit; the message names the limit and the current use."""

    def __init__(self, limit: str, allowed: float, held: float, asked: float,
                 unit: str = "") -> None:
        self.limit = limit
        show = _bytes if unit == "bytes" else _number
        super().__init__(f"limit {limit!r} is {show(allowed)} per user; you hold "
                         f"{show(held)} and asked for {show(asked)} more")


def _number(value: float) -> str:
    return f"{value:g}"


def _bytes(value: float) -> str:
    return ByteSize(int(value)).human_readable()


@dataclass(frozen=True)
class Demand:
    """What a cluster holds (or asks for): itself, its workers, and each worker's size."""

    workers: int = 0
    worker_cores: float = 1
    worker_memory: int = 2**30
    clusters: int = 1

    @property
    def cores(self) -> float:
        """Cores over all workers."""
        return self.workers * self.worker_cores

    @property
    def memory(self) -> int:
        """Bytes over all workers."""
        return self.workers * self.worker_memory


def check_size(limits: Limits, worker_cores: float, worker_memory: int) -> None:
    """Refuse workers larger than one worker may be.

    >>> check_size(Limits(worker_cores=2), 4, 2**30)
    Traceback (most recent call last):
    ...
    wisehub.compute.limits.LimitExceeded: limit 'worker_cores' is 2 per worker; asked for 4
    """
    for name, asked, unit in (("worker_cores", worker_cores, ""),
                              ("worker_memory", worker_memory, "bytes")):
        allowed = getattr(limits, name)
        if asked > allowed:
            show = _bytes if unit else _number
            error = LimitExceeded(name, allowed, 0, asked, unit)
            error.args = (f"limit {name!r} is {show(allowed)} per worker; asked for "
                          f"{show(asked)}",)
            raise error


def check(limits: Limits, held: Iterable[Demand], new: Demand) -> None:
    """Raise :class:`LimitExceeded` if ``new`` on top of ``held`` passes a per-user limit."""
    held = list(held)
    check_size(limits, new.worker_cores, new.worker_memory)
    for name, unit in (("clusters", ""), ("workers", ""), ("cores", ""), ("memory", "bytes")):
        now = sum(getattr(d, name) for d in held)
        asked = getattr(new, name)
        if asked and now + asked > getattr(limits, name):
            raise LimitExceeded(name, getattr(limits, name), now, asked, unit)
