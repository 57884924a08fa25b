"""A Dask client whose dashboard link is fixed when it is made, not read from global config.

>>> PROXY_LINK.format(JUPYTERHUB_SERVICE_PREFIX="/user/ada/", port=8787)
'/user/ada/proxy/8787/status'
"""

from __future__ import annotations

import os
from typing import Any

from distributed import Client

PROXY_LINK = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"


class LinkedClient(Client):
    """A ``distributed.Client`` whose dashboard link is fixed when it is made (a route
    through the hub), instead of coming from the process-wide Dask config."""

    def __init__(self, *args: Any, dashboard_link: str | None = None, **kwargs: Any) -> None:
        self._fixed_link = dashboard_link
        super().__init__(*args, **kwargs)

    @property
    def dashboard_link(self) -> str:
        """The dashboard URL: the fixed link, else through the hub's proxy, else Dask's."""
        if self._fixed_link is not None:
            return self._fixed_link
        if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
            port = self.scheduler_info()["services"].get("dashboard")
            return PROXY_LINK.format(port=port, **os.environ)
        return super().dashboard_link
