"""Shop settings: which catalogues it sells from, where orders live, and the limits per request.

Read from ``WISEHUB_SHOP__*`` environment variables (nested with ``__``), e.g.
``WISEHUB_SHOP__MAX_EVENTS=100000`` or ``WISEHUB_SHOP__GROUP_MAX_EVENTS='{"lab": 5000000}'``.
Limits follow groups, never single users: a member gets the largest of their groups'.

>>> s = ShopSettings(max_events=10, group_max_events={"lab": 100})
>>> s.max_events_for(["lab"]), s.max_events_for([])
(100, 10)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wisehub.config import Settings


class ShopSettings(BaseSettings):
    """The data shop's catalogues, state and request limits."""

    model_config = SettingsConfigDict(env_prefix="WISEHUB_SHOP__", env_nested_delimiter="__",
                                      extra="forbid")

    catalogs: list[Path] = Field(
        default_factory=list,
        description="catalogue files the shop sells from (default: the platform's samples)")
    state_dir: Path | None = Field(
        None, description="orders, outputs and their batch jobs (default: <data_dir>/shop); "
        "operators may add catalogue files in its catalogs/ folder")
    max_events: int = Field(2_000_000, ge=1, description="events one request may select")
    group_max_events: dict[str, int] = Field(
        default_factory=dict, description="per-group raises of max_events")
    max_bytes: int = Field(1 << 30, ge=1, description="bytes of selected values per request")
    wall_time: float = Field(3600.0, gt=0, description="seconds a request's job may run")

    def max_events_for(self, groups: Iterable[str]) -> int:
        """The largest event limit among the defaults and the user's groups."""
        return max([self.max_events, *(self.group_max_events.get(g, 0) for g in groups)])

    def root(self, settings: Settings) -> Path:
        """The shop's state directory."""
        return (self.state_dir or settings.data_dir / "shop").expanduser().absolute()

    def catalog_files(self, settings: Settings) -> list[Path]:
        """The catalogues on offer: the configured ones (or the platform's samples) and every
        ``*.yaml`` an operator put in ``<state_dir>/catalogs/`` (read on each call)."""
        configured = self.catalogs or [settings.catalog_path.with_name("samples.yaml")]
        extra = sorted((self.root(settings) / "catalogs").glob("*.yaml"))
        return [Path(p) for p in configured] + extra
