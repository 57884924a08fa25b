"""The local hub's application: JupyterHub, hosting wisehub's services in its own process.

``wisehub up`` runs ``python -m wisehub.hub.app -f jupyterhub_config.py``. The configuration
(:func:`wisehub.hub.configure`, local mode) registers each hosted service with the hub as an
external service and hands the service objects to ``c.WisehubHub.hosted_services``. This
application opens their endpoints before the hub waits for them, starts their work once the
hub's API answers, and stops them first at shutdown, before the proxy and user servers.

>>> from traitlets.config import Config
>>> c = Config()
>>> c.WisehubHub.hosted_services = ["a service object"]
>>> WisehubHub(config=c).hosted_services
['a service object']
"""

from __future__ import annotations

from typing import Any

from jupyterhub.app import JupyterHub
from traitlets import List

from wisehub.hub.hosted import HostedService


class WisehubHub(JupyterHub):
    """JupyterHub with services hosted on its own event loop."""

    name = "wisehub-hub"
    hosted_services = List(
        help="Service objects (wisehub.hub.hosted.HostedService) run in the hub's process. "
             "Each is also registered in c.JupyterHub.services, with its own token."
    ).tag(config=True)

    def init_logging(self) -> None:
        super().init_logging()
        import dask.config

        # The compute service imports distributed when it first talks to a scheduler, and
        # distributed's import hangs its own handlers on tornado's loggers (the hub's) and
        # sets them to CRITICAL: every hub log line would then show twice, or not at all.
        # A logging configuration of distributed's "dictConfig" kind that changes nothing
        # keeps the hub's logging as it is. (Clusters run in processes of their own.)
        dask.config.set({"distributed.logging": {
            "version": 1, "incremental": True, "disable_existing_loggers": False}})

    async def start(self) -> None:
        service: HostedService
        for service in self.hosted_services:  # the hub waits for the URL of each external service
            await service.listen()
        await super().start()
        for service in self.hosted_services:
            self.log.info("Starting hosted service %s", service.identity.name)
            await service.run()

    async def cleanup(self) -> None:
        for service in reversed(self.hosted_services):
            self.log.info("Stopping hosted service %s", service.identity.name)
            try:
                await service.stop()
            except Exception:  # one service failing to stop must not keep the hub up
                self.log.exception("hosted service %s did not stop cleanly",
                                   service.identity.name)
        await super().cleanup()


def main(argv: Any = None) -> None:
    """Entry point of ``python -m wisehub.hub.app``."""
    WisehubHub.launch_instance(argv)


if __name__ == "__main__":
    main()
