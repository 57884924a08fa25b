"""The memory of decoded chunks: reused once nothing sees it, never while something does."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
from wisehub.storage.bufferpool import BufferPool

FRAME = (512, 1024)  # 2 MiB of float32: pooled
FRAME_BYTES = 512 * 1024 * 4


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_memory_comes_back_only_when_no_view_is_left() -> None:
    pool = BufferPool()
    first = pool.array(FRAME, "f4")
    first[...] = 1.0
    band = first[100:200]  # what a tile task keeps of a decoded frame
    where = address(first)
    del first
    second = pool.array(FRAME, "f4")  # the attack: reuse while the band is still read
    second[...] = 2.0
    assert address(second) != where
    assert np.all(band == 1.0)
    del band
    assert pool.held_bytes == FRAME_BYTES
    third = pool.array(FRAME, "f4")
    assert address(third) == where and pool.held_bytes == 0


def test_sizes_are_kept_apart_and_small_arrays_are_numpy_s() -> None:
    pool = BufferPool()
    big = pool.array(FRAME, "f4")
    where = address(big)
    del big
    other = pool.array((1024, 1024), "f4")  # twice the bytes: not the frame's memory
    assert address(other) != where
    small = pool.array((100, 100), "f8")
    assert small.flags.owndata and small.shape == (100, 100) and small.dtype == np.float64
    del small
    assert pool.held_bytes == FRAME_BYTES


def test_idle_memory_is_let_go_and_use_postpones_it() -> None:
    pool = BufferPool(idle_seconds=0.3)
    pool.array(FRAME, "f4")  # given back at once
    assert pool.held_bytes == FRAME_BYTES
    time.sleep(0.2)
    kept = pool.array(FRAME, "f4")  # taken again before the deadline
    del kept
    time.sleep(0.2)  # 0.4 s after the first return, 0.2 s after the last use
    assert pool.held_bytes == FRAME_BYTES
    deadline = time.monotonic() + 5
    while pool.held_bytes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.held_bytes == 0


def test_the_memory_is_advised_to_use_huge_pages() -> None:
    pool = BufferPool()
    frame = pool.array(FRAME, "f4")
    start = address(frame)
    with open("/proc/self/smaps") as smaps:
        lines = smaps.read().splitlines()
    flags = None
    for i, line in enumerate(lines):
        head = line.split()[0]
        if "-" in head and int(head.split("-")[0], 16) <= start < int(head.split("-")[1], 16):
            flags = next(x for x in lines[i + 1:] if x.startswith("VmFlags:"))
            break
    assert flags is not None and " hg" in flags


def test_threads_never_share_memory_they_hold() -> None:
    pool = BufferPool()
    errors: list[str] = []

    def work(mark: int) -> None:
        for _ in range(200):
            held = [pool.array(FRAME, "f4") for _ in range(3)]
            for k, array in enumerate(held):
                array[::64] = mark * 10 + k
            for k, array in enumerate(held):
                if not np.all(array[::64] == mark * 10 + k):
                    errors.append(f"thread {mark}: array {k} overwritten")
            del held, array

    threads = [threading.Thread(target=work, args=(mark,)) for mark in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert 0 < pool.held_bytes <= 12 * FRAME_BYTES  # no more than was ever held at once


def _take_one(pool: BufferPool, done: multiprocessing.queues.Queue) -> None:
    done.put(pool.array(FRAME, "f4").shape)


def test_a_forked_child_can_use_a_pool_whose_lock_was_taken() -> None:
    pool = BufferPool()
    pool.array(FRAME, "f4")
    context = multiprocessing.get_context("fork")
    done = context.Queue()
    with pool._lock:  # another thread inside the pool at the moment of the fork
        child = context.Process(target=_take_one, args=(pool, done))
        child.start()
    child.join(timeout=20)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0 and done.get(timeout=1) == FRAME


def test_arrays_alive_at_exit_start_no_thread_while_python_shuts_down() -> None:
    script = textwrap.dedent("""
        import atexit
        atexit.register(lambda: print(pool._timer is None, pool.held_bytes))  # runs last
        from wisehub.storage.bufferpool import BufferPool
        pool = BufferPool()
        kept = pool.array((512, 1024), "f4")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["True", "0"] and done.stderr == ""
