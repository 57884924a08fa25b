"""Dask clusters for the platform: ``wh.cluster()``, ``wh.clusters()``, the compute service,
and progress-reporting computation.

Names resolve on first use, so reading the compute settings (as the hub configuration does)
does not import Dask.

>>> from wisehub.compute import local_size
>>> local_size(4, cpus=4, memory=8 * 2**30).threads
1
"""

from wisehub.lazy import lazy_getattr

_LAZY = {
    "LocalSize": "wisehub.compute.local:LocalSize",
    "LinkedClient": "wisehub.compute.local:LinkedClient",
    "cluster": "wisehub.compute.local:cluster",
    "dashboard_link_template": "wisehub.compute.local:dashboard_link_template",
    "local_size": "wisehub.compute.local:local_size",
    "clusters": "wisehub.compute.api_client:clusters",
    "ComputeAPI": "wisehub.compute.api_client:ComputeAPI",
    "ComputeError": "wisehub.compute.api_client:ComputeError",
    "compute": "wisehub.compute.progress:compute",
}


__getattr__ = lazy_getattr(globals(), _LAZY)


__all__ = sorted(_LAZY)
