"""Compute-service settings: per-user limits, with overrides by group.

A user's limits are the defaults, raised field by field by every group they belong to (the most
generous group wins), so membership only ever gives more.

>>> s = ComputeSettings(groups={"lab": {"workers": 16}})
>>> s.limits_for(["lab"]).workers, s.limits_for([]).workers
(16, 4)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GiB = 2**30
SERVICE = "compute"
"""The JupyterHub service's name."""
CONFIG_ENV = "WISEHUB_COMPUTE_CONFIG"
"""The service's settings, as JSON of :class:`ComputeSettings`."""
STATE_ENV = "WISEHUB_COMPUTE_STATE"
"""The service's state directory."""
URL_ENV = "WISEHUB_COMPUTE_URL"
"""Where user servers reach the service (set by the hub configuration)."""
POD_NAME_ENV, POD_UID_ENV = "WISEHUB_POD_NAME", "WISEHUB_POD_UID"
"""A user pod's own name and uid (Kubernetes' downward API): its clusters' ownerReference."""


class Limits(BaseModel):
    """What one user may hold at once, and how long a cluster may live."""

    model_config = ConfigDict(extra="forbid")

    clusters: int = Field(2, ge=0, description="clusters per user")
    workers: int = Field(4, ge=0, description="workers per user, over all their clusters")
    cores: float = Field(4, ge=0, description="worker cores per user, over all their clusters")
    memory: int = Field(8 * GiB, ge=0, description="worker memory (bytes) per user, in total")
    worker_cores: float = Field(2, gt=0, description="cores of one worker")
    worker_memory: int = Field(4 * GiB, gt=0, description="memory (bytes) of one worker")
    lifetime: float = Field(8 * 3600, gt=0, description="seconds a cluster may live")
    idle_timeout: float = Field(1800, gt=0, description="seconds without work before culling")


class GroupLimits(BaseModel):
    """A group's overrides: only the fields given, each raising the user's limit."""

    model_config = ConfigDict(extra="forbid")

    clusters: int | None = Field(None, ge=0)
    workers: int | None = Field(None, ge=0)
    cores: float | None = Field(None, ge=0)
    memory: int | None = Field(None, ge=0)
    worker_cores: float | None = Field(None, gt=0)
    worker_memory: int | None = Field(None, gt=0)
    lifetime: float | None = Field(None, gt=0)
    idle_timeout: float | None = Field(None, gt=0)


class KubernetesSettings(BaseModel):
    """Where the Kubernetes backend makes its clusters, and which images workers may run."""

    model_config = ConfigDict(extra="forbid")

    api_url: str = Field("https://kubernetes.default.svc",
                         description="the API server (in a pod: the cluster's own)")
    namespace: str | None = Field(
        None, description="namespace of the clusters (default: the service pod's own)")
    service_account_dir: Path = Field(
        Path("/var/run/secrets/kubernetes.io/serviceaccount"),
        description="the service's token, CA and namespace (mounted in its pod)")
    image: str = Field("ghcr.io/wisehub/singleuser:latest",
                       description="worker image when the caller's server names none")
    images: list[str] = Field(
        default_factory=list, description="other images a caller's server may run (its "
        "JUPYTER_IMAGE_SPEC): workers run the same one; any other is refused")
    credentials_secret_template: str | None = Field(
        "wisehub-user-{username}", description="the owner's data-credentials Secret (the "
        "hub's KubeSettings.user_secret_template), given to their Dask pods as environment")
    scheduler_cores: float = Field(1, gt=0, description="cores of each scheduler pod")
    scheduler_memory: int = Field(2 * GiB, gt=0, description="memory of each scheduler pod")


class ComputeSettings(BaseModel):
    """The ``compute:`` section of the platform settings."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "kubernetes"] = Field("local", description="where clusters run")
    limits: Limits = Field(default_factory=Limits, description="every user's limits")
    groups: dict[str, GroupLimits] = Field(
        default_factory=lambda: {"lab": GroupLimits(clusters=4, workers=8, cores=8,
                                                    memory=16 * GiB)},
        description="overrides by group")
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings,
                                           description="the Kubernetes backend")
    poll_interval: float = Field(5, gt=0, description="seconds between lifecycle checks")
    run_as_owner: bool = Field(False, description="run Dask processes as the owner's OS account")
    runtime_dir: Path | None = Field(
        None, description="where clusters' working directories go (default: in the service's "
        "state directory; with run_as_owner it must be one owners can traverse to)")

    def limits_for(self, groups: list[str] | set[str]) -> Limits:
        """The limits of a member of ``groups``.

        >>> ComputeSettings().limits_for({"lab"}).clusters
        4
        """
        values = self.limits.model_dump()
        for name in groups:
            override = self.groups.get(name)
            if override is None:
                continue
            for field, value in override.model_dump(exclude_none=True).items():
                values[field] = max(values[field], value)
        return Limits(**values)
