"""An ipywidgets form for the shop, for pupils and newcomers: the same order as
:func:`wisehub.publish.shop.client.order`, by ticking and typing.

>>> from wisehub.publish.shop.form import ShopForm
>>> ShopForm.__doc__.splitlines()[0]
'A form ordering from one dataset: a row per column (keep, min, max), format, name.'
"""

from __future__ import annotations

from html import escape
from typing import Any

from wisehub.publish.shop.client import ShopClient, client, columns, order
from wisehub.publish.shop.errors import ShopError
from wisehub.publish.shop.formats import WRITERS


class ShopForm:
    """A form ordering from one dataset: a row per column (keep, min, max), format, name.

    Shown by JupyterLab; :attr:`last_order` is the order the button last placed.
    """

    def __init__(self, dataset: str = "samples/showers.events",
                 shop: ShopClient | None = None) -> None:
        import ipywidgets as widgets

        self.dataset = dataset
        self.shop = shop or client()
        self.rows: dict[str, tuple[Any, Any, Any]] = {}
        for column in columns(dataset, shop=self.shop):
            label = f"{column['name']} ({column['unit']})" if column["unit"] else column["name"]
            self.rows[column["name"]] = (
                widgets.Checkbox(value=True, description=label, indent=False),
                widgets.Text(placeholder=f"{column['min']:.4g}", description="min"),
                widgets.Text(placeholder=f"{column['max']:.4g}", description="max"))
        self.format = widgets.Dropdown(options=list(WRITERS), value="hdf5",
                                       description="format")
        self.name = widgets.Text(description="name")
        self.button = widgets.Button(description="Order", button_style="primary")
        self.status = widgets.HTML()
        self.last_order: dict[str, Any] | None = None
        self.button.on_click(lambda _: self.submit())
        self.widget = widgets.VBox(
            [widgets.HTML(f"<b>{escape(dataset)}</b>: leave min/max empty for no cut"),
             *(widgets.HBox(list(row)) for row in self.rows.values()),
             widgets.HBox([self.format, self.name, self.button]), self.status])

    def selection(self) -> dict[str, Any]:
        """What the form asks for, as :func:`order`'s arguments."""
        cuts = {name: {"min": low.value.strip() or None, "max": high.value.strip() or None}
                for name, (_, low, high) in self.rows.items()
                if low.value.strip() or high.value.strip()}
        kept = [name for name, (keep, _, _) in self.rows.items() if keep.value]
        return {"cuts": cuts, "columns": kept, "format": self.format.value,
                "name": self.name.value.strip()}

    def submit(self) -> dict[str, Any] | None:
        """Place the order (the button does this); show its id or why it was refused."""
        try:
            self.last_order = order(self.dataset, shop=self.shop, **self.selection())
        except ShopError as err:
            self.status.value = f'<span style="color:#b00000">{escape(str(err))}</span>'
            return None
        self.status.value = (f"order <b>{escape(self.last_order['id'])}</b> queued: "
                             f"{self.last_order['events']} events; wh.publish.shop.wait(…)")
        return self.last_order

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
