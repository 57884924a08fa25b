"""The ``publish`` hub service: landing pages and OAI-PMH over the records table.

A local hub hosts it in its own process (:class:`PublishService`); a cluster hub runs it as
``python -m wisehub.publish.service``, listening where the hub's ``JUPYTERHUB_SERVICE_URL``
says. It reads records from the lineage database of the platform's settings.

- ``records/<pid>``: the landing page. Anonymous visitors see world records; a visitor logged
  in to the hub also sees what their groups may read.
- ``oai``: OAI-PMH; only world-readable records, to everyone (harvesters are anonymous).
- ``scs/stars``: IVOA Simple Cone Search over the sample star catalogue (VOTable, UCDs).
- ``shop/``: the data shop's page and REST API (:mod:`wisehub.publish.shop.api`), for users
  the hub identified.

The hub loads this module whether or not anyone publishes, so what only some requests need
(numpy and astropy for cone searches, lxml for OAI-PMH and DataCite XML) is imported by the
handler that needs it, on its first request.

>>> app = make_app("sqlite://", "/services/publish/", hub_auth=None)
>>> sorted(rule.matcher.regex.pattern for rule in app.wildcard_router.rules)[:1]
['/services/publish/oai$']
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuth
from tornado import web

from wisehub.config import Settings, get_settings
from wisehub.hub.hosted import HostedService, ServiceIdentity, serve_alone
from wisehub.hub.service_auth import ApplicationHubAuth, OAuthCallbackHandler
from wisehub.lineage.context import Context
from wisehub.lineage.schema import upgrade
from wisehub.lineage.store import engine_for
from wisehub.publish import landing
from wisehub.publish.records import PAGE_SIZE, Records, UnknownRecordError
from wisehub.publish.registration import SERVICE
from wisehub.publish.shop import api as shop_api

if TYPE_CHECKING:
    from wisehub.publish.cone import SourceTable


class _Base(ApplicationHubAuth, web.RequestHandler):
    """Knows the records table and who is asking (None: anonymous)."""

    def initialize(self, url: str) -> None:
        self.db_url = url

    def records(self, context: Context | None) -> Records:
        return Records(engine_for(self.db_url), context)

    def visitor(self) -> Context | None:
        if self.settings.get("hub_auth") is None:
            return None
        user = self.get_current_user()
        if not user:
            return None
        return Context(user["name"], groups=tuple(user.get("groups") or ()))


class RecordHandler(_Base):
    """``GET records/<pid>``: HTML, DataCite JSON or DataCite XML by content negotiation."""

    async def get(self, pid: str) -> None:
        visitor = self.visitor()
        try:
            record = await asyncio.to_thread(self.records(visitor).get, pid)
        except UnknownRecordError:
            raise web.HTTPError(404, f"no readable record {pid}") from None
        kind = landing.negotiate(self.request.headers.get("Accept"),
                                 self.get_argument("format", None))
        self.set_header("Vary", "Accept")
        self.set_header("Content-Type", landing.MEDIA[kind])
        if kind == "json":
            self.finish(json.dumps(record.datacite))
        elif kind == "xml":
            from wisehub.publish.datacite import to_xml

            self.finish(to_xml(record.datacite))
        else:
            self.finish(landing.html(record, self.request.path.rsplit("/", 1)[0]))


class OAIHandler(_Base):
    """``GET``/``POST oai``: the OAI-PMH endpoint (world-readable records only)."""

    async def get(self) -> None:
        from wisehub.publish import oai

        args = {k: self.get_argument(k) for k in self.request.arguments}
        base = f"{self.request.protocol}://{self.request.host}{self.request.path}"
        body = await asyncio.to_thread(oai.respond, self.records(None), args, base,
                                       page_size=self.settings["page_size"])
        self.set_header("Content-Type", "text/xml; charset=UTF-8")
        self.finish(body)

    post = get


class ConeHandler(web.RequestHandler):
    """``GET scs/<table>?RA=&DEC=&SR=``: IVOA Simple Cone Search, public like world data."""

    def initialize(self, tables: Mapping[str, Callable[[], SourceTable]]) -> None:
        self.tables = tables

    async def get(self, name: str) -> None:
        from wisehub.publish import cone

        self.set_header("Content-Type", "text/xml; charset=UTF-8")
        if name not in self.tables:
            raise web.HTTPError(404, f"no cone-search table {name!r}")
        try:
            ra, dec, radius = (cone.degrees(self.get_argument(k, None), k)
                               for k in ("RA", "DEC", "SR"))
            body = await asyncio.to_thread(self._search, self.tables[name], ra, dec, radius)
        except cone.ConeError as err:  # SCS: errors are VOTables with status ERROR, HTTP 200
            body = cone.error_votable(str(err))
        self.finish(body)

    @staticmethod
    def _search(load: Callable[[], SourceTable], ra: float, dec: float, radius: float
                ) -> bytes:
        from wisehub.publish import cone

        table = load()
        return cone.votable(table.cone(ra, dec, radius), table.ucds, name=table.name)


def _star_table(samples_dir: Path) -> Callable[[], SourceTable]:
    """The sample star catalogue, read on the first cone search and kept."""

    @functools.lru_cache(maxsize=1)
    def load() -> SourceTable:
        from wisehub.publish.cone import star_table

        return star_table(samples_dir)

    return load


def make_app(db_url: str, prefix: str, *, hub_auth: HubOAuth | None,
             page_size: int = PAGE_SIZE,
             tables: Mapping[str, Callable[[], SourceTable]] | None = None,
             make_shop: shop_api.ShopFactory | None = None) -> web.Application:
    """The tornado application under ``prefix`` (e.g. ``/services/publish/``).

    ``tables`` name the cone-search tables, each loaded by its callable on request. With
    ``hub_auth``, the data shop is mounted under ``shop/`` (``make_shop(user, groups)``
    makes a user's shop; default: from the service's settings).
    """
    kwargs = {"url": db_url}
    handlers: list[Any] = [
        (rf"{prefix}oai", OAIHandler, kwargs),
        (rf"{prefix}records/([0-9a-f-]{{36}})", RecordHandler, kwargs),
        (rf"{prefix}scs/([a-z0-9_]+)", ConeHandler, {"tables": tables or {}}),
    ]
    if hub_auth is not None:
        handlers.append((rf"{prefix}oauth_callback", OAuthCallbackHandler))
        handlers.extend(shop_api.handlers(prefix, make_shop))
    return web.Application(handlers, hub_auth=hub_auth, page_size=page_size,
                           cookie_secret=os.urandom(32))


class PublishService(HostedService):
    """The service's life: bring the records table up to date, then serve under its prefix."""

    def __init__(self, identity: ServiceIdentity, settings: Settings,
                 page_size: int = PAGE_SIZE) -> None:
        self.identity, self.settings, self.page_size = identity, settings, page_size
        self._server: Any = None

    async def listen(self) -> None:
        db_url = self.settings.lineage_db_url
        await asyncio.to_thread(upgrade, engine_for(db_url))
        stars = _star_table(self.settings.samples_dir)
        app = make_app(db_url, self.identity.prefix, hub_auth=self.identity.oauth(
            cache_max_age=60), page_size=self.page_size, tables={"stars": stars})
        url = urlparse(self.identity.url)
        self._server = app.listen(url.port or 80, url.hostname or "127.0.0.1")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


def main() -> None:
    """Entry point of ``python -m wisehub.publish.service`` (a service the hub manages)."""
    identity = ServiceIdentity.from_environment(SERVICE)
    page_size = int(os.environ.get("WISEHUB_PUBLISH_PAGE_SIZE", PAGE_SIZE))
    asyncio.run(serve_alone(PublishService(identity, get_settings(), page_size)))


if __name__ == "__main__":
    main()
