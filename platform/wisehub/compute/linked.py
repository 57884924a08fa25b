"""A Dask client whose dashboard link is fixed when it is made, not read from global config,
and which becomes the default client only once it has connected.

>>> PROXY_LINK.format(JUPYTERHUB_SERVICE_PREFIX="/user/ada/", port=8787)
'/user/ada/proxy/8787/status'
"""

from __future__ import annotations

import os
from typing import Any

import dask
from distributed import Client
from distributed.client import _set_global_client

PROXY_LINK = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"


class LinkedClient(Client):
    """A ``distributed.Client`` whose dashboard link is fixed when it is made (a route
    through the hub), instead of coming from the process-wide Dask config.

    A plain ``Client`` sets Dask's global scheduler before it connects, and one that fails
    to connect never sets it back, so every later ``.compute()`` asks for a client that does
    not exist. This one (synchronous) becomes the default only after it has connected.
    """

    def __init__(self, *args: Any, dashboard_link: str | None = None,
                 set_as_default: bool = True, **kwargs: Any) -> None:
        self._fixed_link = dashboard_link
        later = set_as_default and not kwargs.get("asynchronous")
        super().__init__(*args, set_as_default=set_as_default and not later, **kwargs)
        if later:  # connected: __init__ of a synchronous client returns only then
            self._set_config = dask.config.set(scheduler="dask.distributed")
            _set_global_client(self)

    @property
    def dashboard_link(self) -> str:
        """The dashboard URL: the fixed link, else through the hub's proxy, else Dask's."""
        if self._fixed_link is not None:
            return self._fixed_link
        if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
            port = self.scheduler_info()["services"].get("dashboard")
            return PROXY_LINK.format(port=port, **os.environ)
        return super().dashboard_link
