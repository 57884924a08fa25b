"""Which stored chunks to fetch before they are asked for: reading ahead of a scan.

Dask's local scheduler runs one task per core, so a scan of one-chunk tasks keeps only that
many reads in flight. :class:`ScanTracker` watches the single chunks a reader is asked for,
numbered in C order over the chunk grid. A chunk asked for next to one already read starts a
run in that direction (dask's order often walks an array backwards, in runs), and the tracker
names the next chunks of the run, up to the array's end or the first chunk this scan has
read. Asking again for a chunk this scan has read starts a new scan.

>>> tracker = ScanTracker(count=10, ahead=3)
>>> tracker.ahead_of(9)  # a lone read: nothing ahead
[]
>>> tracker.ahead_of(8)  # next to 9: a backward run
[7, 6, 5]
>>> tracker.ahead_of(7)
[6, 5, 4]
"""

from __future__ import annotations

import numpy as np


class ScanTracker:
    """The chunks read so far in one scan of ``count`` chunks, and ``ahead``, how many to
    fetch ahead of a run."""

    def __init__(self, count: int, ahead: int) -> None:
        self.count = count
        self.ahead = ahead
        self._read = np.zeros(count, bool)  # one byte a chunk

    def ahead_of(self, chunk: int) -> list[int]:
        """Record that ``chunk`` was asked for alone; return the chunks to fetch ahead of it.

        >>> tracker = ScanTracker(count=6, ahead=2)
        >>> [tracker.ahead_of(c) for c in (0, 1, 2, 5)]  # a forward run, then a jump
        [[], [2, 3], [3, 4], []]
        >>> tracker.ahead_of(4)  # a backward run that meets chunk 2, read already
        [3]
        >>> tracker.ahead_of(0)  # read before: a new scan, and a lone read
        []
        """
        if self._read[chunk]:
            self._read[:] = False
        self._read[chunk] = True
        before = chunk > 0 and self._read[chunk - 1]
        after = chunk + 1 < self.count and self._read[chunk + 1]
        if before == after:  # a lone read, or one filling a gap: no run to follow
            return []
        step = 1 if before else -1
        ahead = []
        for following in range(chunk + step, chunk + step * (self.ahead + 1), step):
            if not 0 <= following < self.count or self._read[following]:
                break  # the array's end, or the run meets chunks this scan has read
            ahead.append(following)
        return ahead
