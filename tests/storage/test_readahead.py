"""Which chunks a reader fetches ahead of a scan (readahead.ScanTracker): pure bookkeeping,
no storage. The reads it drives, on a real Ceph RGW, are in test_objectread.py."""

from __future__ import annotations

from wisehub.storage.readahead import ScanTracker

DASK_PERSIST_ORDER = [9, 8, 7, 6, 5, 4, 3, 2, 15, 14, 13, 12, 11, 10, 1, 0]
"""The order in which dask's threaded scheduler asked for the 16 one-frame tasks of a
``persist()`` in bench_storage: backwards, in runs."""


def test_a_forward_run_names_the_next_chunks_up_to_the_end() -> None:
    tracker = ScanTracker(count=8, ahead=3)
    assert tracker.ahead_of(4) == []  # a lone read
    assert tracker.ahead_of(5) == [6, 7]  # the array ends after 7
    assert tracker.ahead_of(6) == [7]


def test_dask_s_backward_runs_are_read_ahead_and_nothing_fetched_goes_unread() -> None:
    tracker = ScanTracker(count=16, ahead=4)
    named: list[int] = []
    for position, chunk in enumerate(DASK_PERSIST_ORDER):
        ahead = tracker.ahead_of(chunk)
        assert not set(ahead) & set(DASK_PERSIST_ORDER[:position + 1])  # none read already
        named += ahead
    assert set(named) == set(range(16)) - {9, 8, 15, 14}  # all but the two that begin each run
    assert named[:4] == [7, 6, 5, 4]


def test_a_run_stops_where_it_meets_chunks_read_already() -> None:
    tracker = ScanTracker(count=12, ahead=8)
    assert [tracker.ahead_of(c) for c in (4, 5)] == [[], [6, 7, 8, 9, 10, 11]]
    assert [tracker.ahead_of(c) for c in (11, 10)] == [[], [9, 8, 7, 6]]  # not 5 and 4 again


def test_a_jump_starts_no_run() -> None:
    tracker = ScanTracker(count=100, ahead=4)
    assert [tracker.ahead_of(c) for c in (10, 40, 70, 20)] == [[], [], [], []]


def test_a_chunk_between_two_read_ones_fills_a_gap_and_names_nothing() -> None:
    tracker = ScanTracker(count=10, ahead=4)
    tracker.ahead_of(2)
    tracker.ahead_of(4)
    assert tracker.ahead_of(3) == []


def test_reading_a_chunk_again_starts_a_new_scan_that_reads_ahead_again() -> None:
    tracker = ScanTracker(count=10, ahead=2)
    assert [tracker.ahead_of(c) for c in (0, 1, 2, 3)] == [[], [2, 3], [3, 4], [4, 5]]
    assert tracker.ahead_of(0) == []  # a second pass over the same array
    assert tracker.ahead_of(1) == [2, 3]  # its chunks are not "read already"
