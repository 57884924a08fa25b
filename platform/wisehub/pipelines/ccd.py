"""The CCD pipeline as targets: raw frames to master calibrations, reduced frames and coadds.

``ReducedScienceFrame.get(frame=...)`` pulls everything back to raw: it selects (or makes)
the master bias, dark and flat whose validity windows cover the exposure, each made from the
raw calibration frames of its night. Reductions are :mod:`wisehub.reduce`; results keep
their ``imstat`` record, so the Astro-WISE five-line script works::

    q = (ReducedScienceFrame.chip == "ccd1") & (ReducedScienceFrame.filter == "r")
    x = [k.imstat.stdev for k in q]
    y = [k.flat.imstat.stdev for k in q]
    plt.scatter(x, y)

Raw frames enter the store with :func:`register_raw` (one product per frame of an ingested
Zarr store); ``wisehub ingest`` and ``wisehub samples make`` call it.

Every ``make()`` reads each input byte once: it loads (persists) its input frames and
calibrations, then computes the product and its statistics together in one
``dask.compute``, so the write that follows reads nothing again.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntFlag
from typing import Any, ClassVar

import dask
import numpy as np
import xarray as xr
from astropy.time import Time

from wisehub.ingest.stack import SHA256_COORD
from wisehub.lineage import (
    Calibration,
    Condition,
    Each,
    LineageStore,
    Need,
    ProductView,
    Result,
    Select,
    Target,
)
from wisehub.lineage.conditions import attr_key

# Per-frame header keywords that become searchable attributes of a RawFrame.
RAW_KEYWORDS = ("IMAGETYP", "FILTER", "CHIP", "EXPTIME", "MJD-OBS", "DATE-OBS", "NIGHT",
                "OBJECT", "GAIN", "RDNOISE", "SATURATE")


class QC(IntFlag):
    """Quality flags set by ``verify()``; any set flag keeps a product out of selection."""

    TOO_FEW_INPUTS = 1
    LEVEL_OUT_OF_RANGE = 2
    SATURATED = 4
    NO_VALID_PIXELS = 8


def night_window(night: str, days: float = 1.0) -> tuple[float, float]:
    """The validity window of a night's calibration: from noon UTC, ``days`` long (MJD).

    >>> night_window("2024-03-01")
    (60370.5, 60371.5)
    """
    start = float(Time(f"{night}T12:00:00", scale="utc").mjd)
    return start, start + days


def register_raw(store: LineageStore, url: str, storage_options: dict[str, Any] | None = None
                 ) -> int:
    """Register each frame of an ingested Zarr store as a RawFrame; return how many are new.

    Frames already registered from the same store are skipped, so ingest can re-run.
    """
    from wisehub.storage.zarrio import open_zarr

    ds = open_zarr(url, storage_options)
    frames = [str(f) for f in ds["frame"].values]
    known = {p.name for p in store.select("RawFrame", (Condition("frame", "in", frames),))
             if p.data_uri == url}
    columns = {k: np.asarray(ds[k].values) for k in RAW_KEYWORDS if k in ds.coords}
    sums = ds[SHA256_COORD].values if SHA256_COORD in ds.coords else [None] * len(frames)
    checksums = {f: f"sha256:{h}" for f, h in zip(frames, sums, strict=True) if h}
    items = []
    for i, frame in enumerate(frames):
        if frame in known:
            continue
        attrs: dict[str, Any] = {"frame": frame}
        for key, values in columns.items():
            value = values[i]
            attrs[attr_key(key)] = value.item() if hasattr(value, "item") else value
        items.append((frame, attrs, {"selection": {"frame": frame}}))
    return store.bulk_register("RawFrame", items, data_uri=url, checksums=checksums)


def frames_of(products: Sequence[ProductView]) -> xr.DataArray:
    """The pixels of raw or reduced frame products as one lazy (frame, y, x) stack."""
    by_uri: dict[str, list[ProductView]] = {}
    for product in products:
        if not product.has_data:
            raise FileNotFoundError(f"{product!r} has no data in storage; re-ingest or remake "
                                    "it (its metadata remains)")
        by_uri.setdefault(str(product.data_uri), []).append(product)
    parts = []
    for group in by_uri.values():
        data = group[0].open()["data"]
        if "selection" in group[0].meta:  # raw frames share their night's store
            data = data.sel(frame=[p.meta["selection"]["frame"] for p in group])
        parts.append(data)
    return parts[0] if len(parts) == 1 else xr.concat(parts, dim="frame")


def loaded(products: Sequence[ProductView]) -> xr.DataArray:
    """The frames of ``products``, read from storage now, once, and kept in memory (or in the
    cluster's memory), so every later step of a ``make()`` reuses them."""
    return frames_of(products).persist()


def image_of(product: ProductView) -> xr.DataArray:
    """A made product's 2-D image (a master calibration), read once and kept in memory."""
    return product.open()["data"].persist()


def measured(image: xr.DataArray, **extra: Any) -> tuple[xr.DataArray, dict[str, float],
                                                         dict[str, Any]]:
    """An image, its ``imstat`` record and any other lazy values, computed in one pass.

    Returns the image in memory, the record (mean, median, stdev, clipped values, …) and
    ``extra`` computed.

    >>> image = xr.DataArray(np.ones((4, 4), "f4"), dims=("y", "x")).chunk()
    >>> data, record, more = measured(image, total=image.sum())
    >>> type(data.data).__name__, record["median"], float(more["total"])
    ('ndarray', 1.0, 16.0)
    """
    from wisehub.reduce import imstat

    stack = image if "frame" in image.dims else image.expand_dims("frame")
    table = imstat(stack.drop_vars([c for c in stack.coords if c != "frame"]))
    data, table, values = dask.compute(image, table, extra)
    return data, {name: float(table[name].values[0]) for name in table.data_vars}, values


class RawFrame(Target):
    """A raw exposure of one chip, registered at ingest (never made)."""

    keys = ("frame",)
    fields = tuple(attr_key(k) for k in RAW_KEYWORDS)


class MasterBias(Target):
    """The combined bias of a night and chip; valid for that night.

    QC: fewer than ``min_frames`` inputs, or a raw bias level outside ``level_range`` (ADU).
    """

    keys = ("night", "chip")
    params: ClassVar[dict[str, Any]] = {"method": "sigma_clip", "min_frames": 3,
                                        "level_range": [100.0, 5000.0]}
    raws = Select(RawFrame, lambda t: {"night": t.night, "chip": t.chip, "imagetyp": "BIAS"})

    def make(self) -> Result:
        from wisehub.reduce import imstat, master_bias

        raw = loaded(self.raws)
        bias, record, found = measured(master_bias(raw, self.method),
                                       levels=imstat(raw)["median"])
        level = float(np.median(found["levels"].values))
        return Result(data=bias, valid=night_window(self.night),
                      meta={"imstat": record, "raw_level": level, "n_inputs": len(self.raws)})

    def verify(self, result: Result) -> int:
        low, high = self.level_range
        flags = QC(0)
        if result.meta["n_inputs"] < self.min_frames:
            flags |= QC.TOO_FEW_INPUTS
        if not low <= result.meta["raw_level"] <= high:
            flags |= QC.LEVEL_OUT_OF_RANGE
        return int(flags)


class MasterDark(Target):
    """Dark current per second of a night and chip, bias-subtracted; valid for that night."""

    keys = ("night", "chip")
    params: ClassVar[dict[str, Any]] = {"method": "sigma_clip", "min_frames": 2}
    raws = Select(RawFrame, lambda t: {"night": t.night, "chip": t.chip, "imagetyp": "DARK"})
    bias = Need(MasterBias, lambda t: {"night": t.night, "chip": t.chip})

    def make(self) -> Result:
        from wisehub.reduce import master_dark

        dark, record, _ = measured(master_dark(loaded(self.raws), bias=image_of(self.bias),
                                               method=self.method))
        return Result(data=dark, valid=night_window(self.night),
                      meta={"imstat": record, "n_inputs": len(self.raws)})

    def verify(self, result: Result) -> int:
        return int(QC.TOO_FEW_INPUTS) if result.meta["n_inputs"] < self.min_frames else 0


class MasterFlat(Target):
    """The normalised flat of a night, chip and filter; valid for that night.

    QC: fewer than ``min_frames`` inputs, or more than ``max_saturated`` of the raw flat
    pixels at the saturation level.
    """

    keys = ("night", "chip", "filter")
    params: ClassVar[dict[str, Any]] = {"method": "median", "min_frames": 2,
                                        "max_saturated": 0.01}
    raws = Select(RawFrame, lambda t: {"night": t.night, "chip": t.chip, "filter": t.filter,
                                       "imagetyp": "FLAT"})
    bias = Need(MasterBias, lambda t: {"night": t.night, "chip": t.chip})
    dark = Need(MasterDark, lambda t: {"night": t.night, "chip": t.chip})

    def make(self) -> Result:
        from wisehub.reduce import master_flat

        raw = loaded(self.raws)
        saturate = float(np.min(raw["SATURATE"].values)) if "SATURATE" in raw.coords \
            else float(np.iinfo(raw.dtype).max)
        flat, record, found = measured(
            master_flat(raw, bias=image_of(self.bias), dark=image_of(self.dark),
                        method=self.method),
            saturated=(raw >= saturate).mean())
        return Result(data=flat, valid=night_window(self.night),
                      meta={"imstat": record, "saturated_fraction": float(found["saturated"]),
                            "n_inputs": len(self.raws)})

    def verify(self, result: Result) -> int:
        flags = QC(0)
        if result.meta["n_inputs"] < self.min_frames:
            flags |= QC.TOO_FEW_INPUTS
        if result.meta["saturated_fraction"] > self.max_saturated:
            flags |= QC.SATURATED
        return int(flags)


def _at(t: Any) -> float:
    return float(t.raw.mjd_obs)


class ReducedScienceFrame(Target):
    """A science exposure calibrated to electrons, with its ``imstat``.

    Calibrations are selected Astro-WISE style (newest valid covering the exposure) and made
    from the exposure's night when none exists.
    """

    keys = ("frame",)
    fields = ("chip", "filter", "night", "object", "mjd_obs", "exptime")
    raw = Need(RawFrame, lambda t: {"frame": t.frame})
    bias = Calibration(MasterBias, match=lambda t: {"chip": t.raw.chip}, at=_at,
                       build=lambda t: {"night": t.raw.night, "chip": t.raw.chip})
    dark = Calibration(MasterDark, match=lambda t: {"chip": t.raw.chip}, at=_at,
                       build=lambda t: {"night": t.raw.night, "chip": t.raw.chip})
    flat = Calibration(MasterFlat, match=lambda t: {"chip": t.raw.chip, "filter": t.raw.filter},
                       at=_at, build=lambda t: {"night": t.raw.night, "chip": t.raw.chip,
                                                "filter": t.raw.filter})

    def make(self) -> Result:
        from wisehub.reduce import calibrate

        reduced, record, _ = measured(calibrate(loaded([self.raw]), bias=image_of(self.bias),
                                                dark=image_of(self.dark),
                                                flat=image_of(self.flat)).isel(frame=[0]))
        raw = self.raw
        return Result(data=reduced, meta={"imstat": record},
                      attrs={"chip": raw.chip, "filter": raw.filter, "night": raw.night,
                             "object": raw.object, "mjd_obs": raw.mjd_obs,
                             "exptime": raw.exptime})

    def verify(self, result: Result) -> int:
        return int(QC.NO_VALID_PIXELS) if result.meta["imstat"]["npix"] == 0 else 0


class Coadd(Target):
    """The stack of a night's reduced frames of one object and filter on one sky grid."""

    keys = ("night", "object", "filter")
    fields = ("chip",)
    params: ClassVar[dict[str, Any]] = {"method": "mean"}
    frames = Each(ReducedScienceFrame, RawFrame,
                  lambda t: {"night": t.night, "object": t.object, "filter": t.filter,
                             "imagetyp": "SCIENCE"},
                  lambda raw: {"frame": raw.frame}, min_count=2)

    def make(self) -> Result:
        from wisehub.reduce import stack

        coadd, record, _ = measured(stack(loaded(self.frames), self.method))
        return Result(data=coadd, meta={"imstat": record, "n_inputs": len(self.frames)},
                      attrs={"chip": "all"})
