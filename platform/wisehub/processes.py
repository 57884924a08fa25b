"""Whether a process recorded earlier still runs: the same process, not a reused pid, and not
misjudged because the wall clock moved.

A record keeps the pid and the start time. psutil's ``create_time()`` is wall-clock time. On
Linux it adds the process's start, counted in clock ticks since boot, to the boot time in
``/proc/stat``, and the kernel derives that boot time, in whole seconds, from the current
wall clock. So an NTP step, or a laptop's clock set after a suspend, can move a running
process's ``create_time()`` by a second or more. Compared to 50 ms, the process then looks
like a different one, and a running batch job would be declared dead. A stamp therefore
also keeps the start counted from boot, which no clock change moves, and this boot's id, so
that a pid reused after a reboot is not taken for it.

>>> import os
>>> me = ProcessStamp.of(os.getpid())
>>> me.running(), ProcessStamp(me.pid, me.started - 100).running()
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
"""Linux's id of the current boot; other systems have none, and the stamp keeps ''."""

TOLERANCE_S = 0.05
"""How far two readings of one start may differ (start times are kept in clock ticks)."""


def boot_id() -> str:
    """This boot's id ('' where the system does not give one).

    >>> boot_id() == boot_id()
    True
    """
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class ProcessStamp:
    """A process as recorded when it started.

    ``started`` is wall-clock time (for people, and all that records from before
    ``since_boot`` have); ``since_boot`` is the start in seconds after boot and ``boot`` the
    boot's id. A stamp with ``since_boot`` is checked against that, one without against
    ``started``.
    """

    pid: int
    started: float
    since_boot: float | None = None
    boot: str = ""

    @classmethod
    def of(cls, pid: int) -> ProcessStamp:
        """The stamp of running process ``pid`` (``psutil.NoSuchProcess`` if there is none).

        >>> import os
        >>> ProcessStamp.of(os.getpid()).since_boot > 0
        True
        """
        started = psutil.Process(pid).create_time()
        # Both readings add the same boot time unless the clock steps between these two
        # lines, so their difference is the start in ticks since boot.
        return cls(pid, started, started - psutil.boot_time(), boot_id())

    def running(self) -> bool:
        """Whether this process still runs (and is not a zombie).

        >>> ProcessStamp(2**22 + 1, 0.0).running()
        False
        """
        try:
            found = psutil.Process(self.pid)
            started = found.create_time()
            if self.since_boot is None:
                same = abs(started - self.started) < TOLERANCE_S
            else:
                same = (abs(started - psutil.boot_time() - self.since_boot) < TOLERANCE_S
                        and self.boot == boot_id())
            return same and found.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False
