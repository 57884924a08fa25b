"""Small toy targets for the engine tests: raw frames, a combined bias, a flat, a science frame.

The make() functions are tiny numpy sums so tests exercise the engine, not the reductions.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from wisehub.lineage import Calibration, LineageStore, Need, Result, Select, Target

LOW_COUNT = 1  # verify(): flag bit when fewer than two raw frames were combined


class Raw(Target):
    """Raw frames, registered, never made."""

    keys = ("frame",)
    fields = ("night", "chip", "kind", "filter", "mjd", "level")


class Bias(Target):
    """Mean of the raw bias frames of a night and chip."""

    keys = ("night", "chip")
    params: ClassVar[dict[str, float]] = {"scale": 1.0}
    raws = Select(Raw, lambda t: {"night": t.night, "chip": t.chip, "kind": "bias"})

    def make(self) -> Result:
        level = self.scale * float(np.mean([r.level for r in self.raws]))
        data = xr.DataArray(np.full((4, 4), level, dtype="float32"), dims=("y", "x"))
        return Result(data=data, meta={"imstat": {"mean": level, "n": len(self.raws)}},
                      valid=(self.raws[0].mjd - 0.5, self.raws[0].mjd + 0.5))

    def verify(self, result: Result) -> int:
        return LOW_COUNT if result.meta["imstat"]["n"] < 2 else 0


class Flat(Target):
    """Flat frames minus the bias; valid for one night."""

    keys = ("night", "chip")
    fields = ("filter",)
    bias = Need(Bias, lambda t: {"night": t.night, "chip": t.chip})
    flats = Select(Raw, lambda t: {"night": t.night, "chip": t.chip, "kind": "flat"})

    def make(self) -> Result:
        level = float(np.mean([f.level for f in self.flats])) - self.bias.imstat.mean
        mjd = self.flats[0].mjd
        return Result(data=xr.DataArray(np.full((4, 4), level, dtype="float32")),
                      meta={"imstat": {"mean": level, "stdev": level / 100}},
                      attrs={"filter": self.flats[0].filter}, valid=(mjd - 0.5, mjd + 0.5))


class Science(Target):
    """A science frame calibrated with its night's bias and the covering flat."""

    keys = ("frame",)
    fields = ("chip", "filter")
    raw = Need(Raw, lambda t: {"frame": t.frame})
    bias = Need(Bias, lambda t: {"night": t.raw.night, "chip": t.raw.chip})
    flat = Calibration(Flat, match=lambda t: {"chip": t.raw.chip}, at=lambda t: t.raw.mjd,
                       build=lambda t: {"night": t.raw.night, "chip": t.raw.chip})

    def make(self) -> Result:
        value = (self.raw.level - self.bias.imstat.mean) / self.flat.imstat.mean
        return Result(data=xr.DataArray(np.full((4, 4), value, dtype="float32")),
                      meta={"imstat": {"stdev": value / 10}},
                      attrs={"chip": self.raw.chip, "filter": self.raw.filter})


class Slow(Target):
    """Sleeps, so tests can see parallel branches and concurrent callers."""

    keys = ("label",)
    # Long enough that two branches overlap even when a loaded machine starts them apart.
    params: ClassVar[dict[str, float]] = {"seconds": 1.5}

    def make(self) -> Result:
        start = time.time()
        time.sleep(self.seconds)
        return Result(meta={"slept": self.seconds, "start": start, "end": time.time()})


class Pair(Target):
    """Two independent slow branches."""

    keys = ("label",)
    left = Need(Slow, lambda t: {"label": t.label + "-left"})
    right = Need(Slow, lambda t: {"label": t.label + "-right"})

    def make(self) -> Result:
        return Result(meta={"sum": self.left.slept + self.right.slept})


class Loop(Target):
    """Depends on itself through Loop2: a cycle."""

    keys = ("n",)
    other = Need("Loop2", lambda t: {"n": t.n})

    def make(self) -> Result:
        return Result()


class Loop2(Target):
    """The other half of the cycle."""

    keys = ("n",)
    back = Need(Loop, lambda t: {"n": t.n})

    def make(self) -> Result:
        return Result()


def register_night(store: LineageStore, night: str = "2024-03-01", chip: str = "c1",
                   mjd: float = 60370.0, biases: int = 3, flats: int = 2,
                   science: int = 2) -> list[str]:
    """Raw frames of one night and chip; returns the science frame ids."""
    frames = []
    for kind, count, level in (("bias", biases, 100.0), ("flat", flats, 1100.0),
                               ("science", science, 600.0)):
        for i in range(count):
            frame = f"{night}-{chip}-{kind}-{i}"
            store.register("Raw", name=frame, attrs={
                "frame": frame, "night": night, "chip": chip, "kind": kind, "filter": "r",
                "mjd": mjd + 0.01 * i, "level": level + i})
            if kind == "science":
                frames.append(frame)
    return frames


def get_slow_in_process(url: str, root: str, name: str, start: Any) -> str:
    """Open the store at ``url`` as ada and get ``Slow(name)``: run in spawned processes.

    Every caller waits at the barrier ``start`` first, so all of them plan and build at
    the same moment, however long each process took to spawn.
    """
    from wisehub.lineage import Context
    from wisehub.storage import Storage

    store = LineageStore(url, Context("ada"), storage=Storage.local(root))
    start.wait(timeout=120)
    return Slow.get(store=store, label=name).pid


def get_slow_as(url: str, root: str, user: str, groups: tuple[str, ...], label: str,
                seconds: float, lease: float) -> str:
    """Get ``Slow(label)`` as ``user`` writing to their group: run in a spawned process."""
    from wisehub.lineage import Context
    from wisehub.storage import Storage

    store = LineageStore(url, Context(user, groups, privilege="group"),
                         storage=Storage.local(root), claim_lease=lease)
    return Slow.get(store=store, label=label, seconds=seconds).pid
