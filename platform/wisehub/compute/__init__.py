"""Dask clusters for the platform: ``wh.cluster()``, ``wh.clusters()``, the compute service,
and progress-reporting computation.

Names resolve on first use, so reading the compute settings (as the hub configuration does)
does not import Dask.

>>> from wisehub.compute import local_size
>>> local_size(4, cpus=4, memory=8 * 2**30).threads
1
"""

from importlib import import_module
from typing import Any

_LAZY = {
    "LocalSize": "wisehub.compute.local",
    "LinkedClient": "wisehub.compute.local",
    "cluster": "wisehub.compute.local",
    "dashboard_link_template": "wisehub.compute.local",
    "local_size": "wisehub.compute.local",
    "clusters": "wisehub.compute.api_client",
    "ComputeAPI": "wisehub.compute.api_client",
    "ComputeError": "wisehub.compute.api_client",
    "compute": "wisehub.compute.progress",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'wisehub.compute' has no attribute {name!r}")


__all__ = sorted(_LAZY)
