"""The shop's REST API and web page, mounted in the ``publish`` hub service under ``shop/``.

| path | what |
|---|---|
| ``shop/`` | the web page: a form and the user's orders (hub login) |
| ``GET shop/api/datasets`` | datasets the caller may order from |
| ``GET shop/api/datasets/<name>`` | one, with its columns, ranges, formats and limit |
| ``GET``/``POST shop/api/orders`` | the caller's orders / submit one (201) |
| ``GET shop/api/orders/<id>`` | one order: status, progress, message |
| ``POST shop/api/orders/<id>/resubmit`` | submit it again with changes (a template) |
| ``GET shop/api/orders/<id>/file`` | the output file, once the job succeeded |

Every call is made by a user the hub identified (its login cookie, or a token with
``access:services!service=publish``); an order id of another user answers 404. Bad input
answers 400, a dataset the caller's groups may not read 403, each with a message saying why,
and nothing is queued.

>>> [pattern for pattern, *_ in handlers("/services/publish/")][:2]
['/services/publish/shop/?', '/services/publish/shop/api/datasets']
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tornado import web

from wisehub.hub.service_auth import ApplicationHubAuth
from wisehub.publish.shop import page
from wisehub.publish.shop.errors import ShopError
from wisehub.publish.shop.formats import WRITERS

if TYPE_CHECKING:
    from wisehub.publish.shop.shop import Shop

ShopFactory = Callable[[str, list[str]], "Shop"]


class ShopHandler(ApplicationHubAuth, web.RequestHandler):
    """Base: the identified caller's shop; JSON replies; shop errors as clear 4xx."""

    def initialize(self, make_shop: ShopFactory) -> None:
        self.make_shop = make_shop

    def shop(self) -> Shop:
        user = self.current_user
        if not user:
            raise web.HTTPError(403, "log in to the hub to use the data shop")
        if user.get("kind", "user") != "user":
            raise web.HTTPError(403, "the data shop serves registered users, not services")
        groups = [g if isinstance(g, str) else g["name"] for g in user.get("groups", [])]
        return self.make_shop(user["name"], groups)

    async def call(self, action: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(action, *args)
        except ShopError as err:
            raise web.HTTPError(err.status, str(err)) from None

    def body(self) -> Any:
        try:
            return json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "bad request: the body is not JSON") from None

    def reply(self, data: Any, status: int = 200) -> None:
        """Answer ``data`` as JSON, never cached (orders change while jobs run)."""
        self.set_status(status)
        for name, value in (("Content-Type", "application/json"), ("Cache-Control", "no-store")):
            self.set_header(name, value)
        self.finish(json.dumps(data, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as ``{"status", "message"}``: the shop's message says what to change."""
        err = kwargs.get("exc_info", (None, None))[1]
        reason = getattr(err, "log_message", None) or self._reason
        self.reply({"status": status_code, "message": reason}, status_code)


class PageHandler(ShopHandler):
    """``GET shop/``: the form and the order list, for a user logged in to the hub."""

    @web.authenticated
    def get(self) -> None:
        token = self.xsrf_token
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page.html(self.current_user["name"],
                              token.decode() if isinstance(token, bytes) else token,
                              self.request.path.rstrip("/") + "/api"))


class DatasetsHandler(ShopHandler):
    """``GET shop/api/datasets``: what the caller may order from."""

    async def get(self) -> None:
        shop = self.shop()
        found = await self.call(shop.datasets)
        self.reply({"datasets": [d.describe() for d in found]})


class DatasetHandler(ShopHandler):
    """``GET shop/api/datasets/<name>``: a dataset's columns, formats and the caller's limit."""

    async def get(self, name: str) -> None:
        shop = self.shop()
        dataset = await self.call(shop.dataset, name)
        schema = await self.call(dataset.schema)
        self.reply({**dataset.describe(), **schema.to_dict(), "formats": list(WRITERS),
                    "max_events": shop.config.max_events_for(shop.context.groups)})


class OrdersHandler(ShopHandler):
    """``GET shop/api/orders``: the caller's orders; ``POST``: submit one."""

    async def get(self) -> None:
        shop = self.shop()
        self.reply({"orders": await self.call(shop.orders)})

    async def post(self) -> None:
        shop = self.shop()
        order = await self.call(shop.submit, self.body())
        self.reply(await self.call(shop.view, order.id), 201)


class OrderHandler(ShopHandler):
    """``GET shop/api/orders/<id>``: one of the caller's orders."""

    async def get(self, order_id: str) -> None:
        shop = self.shop()
        self.reply(await self.call(shop.view, order_id))


class ResubmitHandler(ShopHandler):
    """``POST shop/api/orders/<id>/resubmit``: the order as a template, with changes."""

    async def post(self, order_id: str) -> None:
        shop = self.shop()
        order = await self.call(shop.resubmit, order_id, self.body())
        self.reply(await self.call(shop.view, order.id), 201)


class FileHandler(ShopHandler):
    """``GET shop/api/orders/<id>/file``: the output file of a finished order."""

    async def get(self, order_id: str) -> None:
        shop = self.shop()
        path = await self.call(shop.file, order_id)
        fmt = (await self.call(shop.view, order_id))["selection"]["format"]
        self.set_header("Content-Type", WRITERS[fmt].media_type)
        self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
        self.finish(await asyncio.to_thread(path.read_bytes))


def _shop_from_settings(user: str, groups: list[str]) -> Shop:
    """A user's shop from the service's settings; the shop, with numpy, intake and dask,
    loads on the first shop request, not with the hub."""
    from wisehub.publish.shop.shop import shop_for

    return shop_for(user, groups)


def handlers(prefix: str, make_shop: ShopFactory | None = None
             ) -> list[tuple[str, type, dict[str, Any]]]:
    """``(pattern, handler, kwargs)`` under ``prefix``; ``make_shop(user, groups)`` makes a
    user's shop (default: from the service's settings)."""
    kwargs = {"make_shop": make_shop or _shop_from_settings}
    order = r"([0-9]{8}T[0-9]{6}-[0-9a-f]{8})"
    routes = [("shop/?", PageHandler), ("shop/api/datasets", DatasetsHandler),
              (r"shop/api/datasets/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)", DatasetHandler),
              ("shop/api/orders", OrdersHandler), (f"shop/api/orders/{order}", OrderHandler),
              (f"shop/api/orders/{order}/resubmit", ResubmitHandler),
              (f"shop/api/orders/{order}/file", FileHandler)]
    return [(f"{prefix}{pattern}", handler, kwargs) for pattern, handler in routes]
