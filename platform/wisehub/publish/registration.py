"""How a cluster hub runs the ``publish`` service: its ``c.JupyterHub.services`` entry (a local
hub hosts it in its own process, see :mod:`wisehub.hub.hosted`).

Kept apart from the service so the hub configuration imports nothing heavy.
"""

from __future__ import annotations

import sys
from typing import Any

from wisehub.config import Settings
from wisehub.hub.ports import free_port

SERVICE = "publish"
SHOP_URL_ENV = "WISEHUB_SHOP_URL"
"""Tells ``wh.publish.shop`` in a user server where the shop's REST API is."""


def hub_service(settings: Settings) -> dict[str, Any]:
    """The ``c.JupyterHub.services`` entry of this service (local or cluster hub).

    >>> from wisehub.config import Settings
    >>> hub_service(Settings(data_dir="/tmp/wh-doc"))["command"][-1]
    'wisehub.publish.service'
    """
    return {
        "name": SERVICE,
        "url": f"http://127.0.0.1:{free_port()}",
        "command": [sys.executable, "-m", "wisehub.publish.service"],
        # The platform's settings: the shop reads catalogues and the data directory, and its
        # batch jobs register their outputs in lineage.
        "environment": settings.environment(),
        "oauth_no_confirm": True,
        # The hub exits if a managed service is not up in time; a busy machine imports slowly.
        "timeout": settings.hub.start_timeout,
        "display": False,
    }
