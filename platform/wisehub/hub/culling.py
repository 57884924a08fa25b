"""The idle culler, hosted in the hub's process: jupyterhub-idle-culler's ``cull_idle``,
called every ``cull_every`` seconds with the culler service's own token.

Upstream runs it as a process of its own (``python -m jupyterhub_idle_culler``, which is
how a cluster hub runs it); here it is one more task on the hub's event loop.

>>> from wisehub.hub.hosted import ServiceIdentity
>>> culler = IdleCuller(ServiceIdentity.new("idle-culler", "", "http://127.0.0.1:8081/hub/api"),
...                     interval=300, timeout=3600)
>>> culler.interval, culler.timeout
(300, 3600)
"""

from __future__ import annotations

import logging

from wisehub.hub.hosted import PollingService, ServiceIdentity

log = logging.getLogger("wisehub.idle-culler")


class IdleCuller(PollingService):
    """Stop user servers inactive for ``timeout`` seconds, checking every ``interval``."""

    def __init__(self, identity: ServiceIdentity, interval: float, timeout: float) -> None:
        super().__init__(identity, interval)
        self.timeout = timeout

    async def round(self) -> None:
        from jupyterhub_idle_culler import cull_idle

        await cull_idle(url=self.identity.hub_api_url, api_token=self.identity.token,
                        inactive_limit=self.timeout, logger=log)
