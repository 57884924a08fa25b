"""Batch settings: where job state lives, the limits per user with overrides per group, and
how long finished jobs are kept.

They are read from ``WISEHUB_BATCH__*`` environment variables (nested with ``__``), e.g.
``WISEHUB_BATCH__LIMITS__CONCURRENT_JOBS=2`` or
``WISEHUB_BATCH__GROUP_LIMITS='{"lab": {"workers": 16}}'``.

>>> s = BatchSettings(group_limits={"lab": {"workers": 16}})
>>> s.limits_for(["lab"]).workers, s.limits_for([]).workers
(16, 4)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DAY = 24 * 3600.0


class BatchLimits(BaseModel):
    """What one user may use for batch jobs at once."""

    model_config = ConfigDict(extra="forbid")

    concurrent_jobs: int = Field(4, ge=1, description="jobs queued or running at once")
    workers: int = Field(4, ge=1, description="Dask workers per job (adaptive: its maximum)")
    wall_time: float = Field(DAY, gt=0, description="seconds a job may run before it is stopped")


class GroupLimits(BaseModel):
    """A group's override of some limits; unset fields leave the user's limit alone."""

    model_config = ConfigDict(extra="forbid")

    concurrent_jobs: int | None = Field(None, ge=1)
    workers: int | None = Field(None, ge=1)
    wall_time: float | None = Field(None, gt=0)


class BatchSettings(BaseSettings):
    """Where batch state lives, the limits, and how long finished jobs are kept."""

    model_config = SettingsConfigDict(env_prefix="WISEHUB_BATCH__", env_nested_delimiter="__",
                                      extra="forbid")

    state_dir: Path | None = Field(
        None, description="root of the per-user job directories (default: <data_dir>/batch)")
    limits: BatchLimits = Field(default_factory=BatchLimits)
    group_limits: dict[str, GroupLimits] = Field(
        default_factory=dict, description="per-group overrides; a member gets the largest")
    retention: float = Field(7 * DAY, ge=0, description="seconds finished jobs are kept")
    service_path: str = Field(
        "services/compute", description="where the batch REST API is mounted below the hub")
    kill_grace: float = Field(10.0, ge=0, description="seconds between SIGTERM and SIGKILL")

    def limits_for(self, groups: Iterable[str]) -> BatchLimits:
        """The user's limits: the defaults, raised by every group override they belong to.

        >>> s = BatchSettings(limits={"wall_time": 30}, group_limits={"a": {"wall_time": 60}})
        >>> s.limits_for(["a"]).wall_time, s.limits_for(["b"]).wall_time
        (60.0, 30.0)
        """
        best = self.limits.model_dump()
        for group in groups:
            override = self.group_limits.get(group)
            if override is None:
                continue
            for name, value in override.model_dump(exclude_none=True).items():
                best[name] = max(best[name], value)
        return BatchLimits(**best)

    def root(self, data_dir: Path) -> Path:
        """The directory holding every user's job directories."""
        return (self.state_dir or data_dir / "batch").expanduser().absolute()
