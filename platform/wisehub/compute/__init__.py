"""Dask clusters for the platform: ``wh.cluster()`` and progress-reporting computation.

>>> from wisehub.compute import local_size
>>> local_size(4, cpus=4, memory=8 * 2**30).threads
1
"""

from wisehub.compute.local import LocalSize, cluster, dashboard_link_template, local_size
from wisehub.compute.progress import compute

__all__ = ["LocalSize", "cluster", "compute", "dashboard_link_template", "local_size"]
