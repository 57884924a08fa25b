"""A stand-in for the compute service until it is merged: a hub-managed service that serves
exactly the ``wisehub.batch.api`` handlers, authenticated with ``HubOAuth`` like the compute
service. Run by the hub as ``python batch_service.py``.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth
from tornado import web
from wisehub.batch.api import handlers


async def serve() -> None:
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    auth = HubOAuth.instance(api_token=os.environ["JUPYTERHUB_API_TOKEN"],
                             api_url=os.environ["JUPYTERHUB_API_URL"], cache_max_age=60)
    app = web.Application(handlers(prefix), hub_auth=auth, cookie_secret=os.urandom(32),
                          login_url=auth.login_url)
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app.listen(url.port, url.hostname)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
