"""A shop request's selection: cuts on columns, the columns to keep, an optional random
subsample and the output format; checked against the dataset before anything runs.

>>> sel = Selection.parse({"dataset": "samples/showers.events", "format": "root",
...                        "cuts": {"energy_ev": {"min": 4e15}, "zenith_deg": {"max": 20}}})
>>> sel.cuts["zenith_deg"].max, sel.format
(20.0, 'root')
>>> Selection.parse({"dataset": "d", "cuts": {"zenith_deg": {"min": 30, "max": 10}}})
Traceback (most recent call last):
...
wisehub.publish.shop.errors.ShopError: bad request: cuts.zenith_deg: impossible cut: min 30 > max 10
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from wisehub.publish.shop.errors import ShopError
from wisehub.publish.shop.formats import WRITERS

if TYPE_CHECKING:
    from wisehub.publish.shop.datasets import Schema


class Cut(BaseModel):
    """Keep rows with ``min <= value <= max`` (either bound may be left out). Bounds are
    numbers in the column's unit, or ISO 8601 times for time columns (unix seconds)."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            return None if value == "" else value
        try:
            return float(value)
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is neither a number nor an ISO 8601 time") from None
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()

    @model_validator(mode="after")
    def _possible(self) -> Cut:
        if self.min is None and self.max is None:
            raise ValueError("a cut needs a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"impossible cut: min {self.min:g} > max {self.max:g}")
        return self


class Selection(BaseModel):
    """What to cut, keep and write from one shop dataset."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1, description="shop dataset, e.g. samples/showers.events")
    cuts: dict[str, Cut] = Field(default_factory=dict)
    columns: list[str] = Field(default_factory=list, description="columns to keep (all: [])")
    sample: int | None = Field(None, ge=1, description="a random subsample of this many rows")
    seed: int = Field(0, ge=0, description="the subsample's random seed")
    format: str = Field("hdf5", description=f"one of {', '.join(WRITERS)}")
    name: str = Field("", max_length=200, description="a label for the order list")

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in WRITERS:
            raise ValueError(f"unsupported format {value!r}: choose one of {', '.join(WRITERS)}")
        return value

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Selection:
        """A selection from JSON-like data; :class:`ShopError` lists every problem."""
        if not isinstance(data, Mapping):
            raise ShopError("bad request: a selection is a JSON object")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'selection'}: "
                f"{e['msg'].removeprefix('Value error, ')}" for e in err.errors())
            raise ShopError(f"bad request: {problems}") from None

    def changed(self, changes: Mapping[str, Any]) -> Selection:
        """A new selection with ``changes``: cuts merge per column (``None`` drops one),
        anything else replaces."""
        data = self.model_dump()
        changes = dict(changes)
        if "cuts" in changes:
            cuts = {**data["cuts"], **(changes.pop("cuts") or {})}
            data["cuts"] = {k: v for k, v in cuts.items() if v is not None}
        return Selection.parse({**data, **changes})

    def check(self, schema: Schema) -> list[str]:
        """The columns to write, after checking every column name against ``schema``."""
        known = schema.columns
        unknown = sorted({*self.cuts, *self.columns} - set(known))
        if unknown:
            raise ShopError(f"unknown column(s) {', '.join(unknown)} in {self.dataset}: it "
                            f"has {', '.join(known)}")
        if len(set(self.columns)) != len(self.columns):
            raise ShopError("a column is listed twice in columns")
        return list(self.columns) or list(known)

    def indices(self, data: Any) -> np.ndarray:
        """The selected row numbers of ``data`` (an xarray Dataset), in row order."""
        keep = None
        for name, cut in self.cuts.items():
            values = np.asarray(data[name].values)
            inside = np.ones(values.shape, bool)
            if cut.min is not None:
                inside &= values >= cut.min
            if cut.max is not None:
                inside &= values <= cut.max
            keep = inside if keep is None else keep & inside
        rows = next(iter(data.sizes.values()))
        chosen = np.arange(rows) if keep is None else np.flatnonzero(keep)
        if self.sample is not None and self.sample < chosen.size:
            rng = np.random.default_rng(self.seed)
            chosen = np.sort(rng.choice(chosen, self.sample, replace=False))
        return chosen

    def summary(self) -> str:
        """One line for order lists: the cuts and the format."""
        cuts = [f"{'' if c.min is None else f'{c.min:g} ≤ '}{n}"
                f"{'' if c.max is None else f' ≤ {c.max:g}'}" for n, c in self.cuts.items()]
        sample = [f"sample {self.sample}"] if self.sample else []
        return f"{', '.join(cuts + sample) or 'all rows'} → {self.format}"
