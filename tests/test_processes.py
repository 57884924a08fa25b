"""Recorded processes across a change of the wall clock, a reused pid and a reboot.

A clock step is simulated in this process only (the ``clock_step`` fixture), as the machine's
clock must not be changed by a test.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace

import psutil
import pytest
from wisehub.processes import ProcessStamp


@pytest.fixture
def sleeper():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child
    child.kill()
    child.wait()


@pytest.mark.parametrize("step", [1.0, -1.0, 3600.0])
def test_a_running_process_stays_itself_when_the_wall_clock_steps(sleeper, clock_step, step):
    stamp = ProcessStamp.of(sleeper.pid)
    recorded_before_stamps = ProcessStamp(stamp.pid, stamp.started)  # as older records hold
    assert recorded_before_stamps.running()
    clock_step(step)
    assert psutil.Process(sleeper.pid).create_time() != pytest.approx(stamp.started, abs=0.5)
    assert stamp.running()
    # A stamp of the wall-clock start alone is fooled by it.
    assert not recorded_before_stamps.running()


def test_a_reused_pid_an_ended_process_and_another_boot_are_not_it(sleeper):
    stamp = ProcessStamp.of(sleeper.pid)
    assert stamp.running()
    assert not replace(stamp, since_boot=stamp.since_boot - 5).running()  # pid reused later
    assert not replace(stamp, boot="another-boot").running()
    sleeper.kill()
    sleeper.wait()
    assert not stamp.running()


def test_a_zombie_is_not_running():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    stamp = ProcessStamp.of(child.pid)
    deadline = time.monotonic() + 30
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:  # ended, not reaped
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert not stamp.running()
    child.wait()
