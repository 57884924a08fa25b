"""The bodies the compute service accepts, validated strictly: unknown fields, wrong types,
negative or absurd sizes are refused before anything is made.

>>> ClusterRequest.model_validate({"adaptive": {"minimum": 1, "maximum": 3}}).maximum
3
>>> ClusterRequest.model_validate({"workers": -1})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for ClusterRequest
...
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_WORKERS = 1000
MAX_CORES = 1024
MAX_MEMORY = 2**50


class Adaptive(BaseModel):
    """Adaptive scaling bounds."""

    model_config = ConfigDict(extra="forbid", strict=True)

    minimum: int = Field(1, ge=0, le=MAX_WORKERS)
    maximum: int = Field(ge=1, le=MAX_WORKERS)

    @model_validator(mode="after")
    def _ordered(self) -> Adaptive:
        if self.minimum > self.maximum:
            raise ValueError(f"adaptive minimum {self.minimum} is above maximum {self.maximum}")
        return self


class ScaleRequest(BaseModel):
    """A fixed size (``workers``) or adaptive bounds, not both."""

    model_config = ConfigDict(extra="forbid", strict=True)

    workers: int | None = Field(None, ge=0, le=MAX_WORKERS)
    adaptive: Adaptive | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ScaleRequest:
        if self.workers is not None and self.adaptive is not None:
            raise ValueError("give either workers or adaptive, not both")
        return self

    @property
    def maximum(self) -> int:
        """The most workers this asks for."""
        if self.adaptive is not None:
            return self.adaptive.maximum
        return 1 if self.workers is None else self.workers


class OwnerPod(BaseModel):
    """The caller's server pod (Kubernetes), which the cluster's objects are owned by."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    uid: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ClusterRequest(ScaleRequest):
    """A new cluster: its size, and optionally each worker's cores and memory (bytes).

    On Kubernetes the caller's server also names its image (workers run the same one, if the
    hub offers it) and its pod (so the cluster goes with it); the local backend ignores both.
    """

    worker_cores: float | int | None = Field(None, gt=0, le=MAX_CORES)
    worker_memory: int | None = Field(None, gt=0, le=MAX_MEMORY)
    idle_timeout: float | int | None = Field(None, gt=0, le=365 * 86400,
                                             description="seconds; at most the limit")
    image: str | None = Field(None, min_length=1, max_length=512,
                              description="the caller's server image (JUPYTER_IMAGE_SPEC)")
    owner_pod: OwnerPod | None = None
