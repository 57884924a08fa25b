"""The data shop (KCDC-style): registered users order user-defined subsets of published
tables, written as HDF5, ROOT, ASCII (ECSV, CSV) or FITS by batch jobs.

``errors`` → ``formats`` (the writers) → ``selection`` (cuts, columns, sample, format) →
``datasets`` (what is on offer, access by group) → ``orders`` (the request records) →
``job`` (what the batch job runs) → ``shop`` (one user's shop: check, submit, templates) →
``client`` (``wh.publish.shop`` in Python, local or through the hub; ``form`` its ipywidgets
form) and ``api`` (the REST
API and web page in the ``publish`` hub service). See ``docs/publishing.md``.

>>> from wisehub.publish import shop
>>> sorted(shop.FORMATS)
['csv', 'ecsv', 'fits', 'hdf5', 'parquet', 'root']
"""

from __future__ import annotations

from wisehub.lazy import lazy_getattr

_LAZY = {
    "FORMATS": "wisehub.publish.shop.formats:WRITERS",
    "Selection": "wisehub.publish.shop.selection:Selection",
    "Shop": "wisehub.publish.shop.shop:Shop",
    "ShopForm": "wisehub.publish.shop.form:ShopForm",
    "ShopError": "wisehub.publish.shop.errors:ShopError",
    "ShopAccessError": "wisehub.publish.shop.errors:ShopAccessError",
    "ShopSettings": "wisehub.publish.shop.settings:ShopSettings",
    "datasets": "wisehub.publish.shop.client:datasets",
    "columns": "wisehub.publish.shop.client:columns",
    "order": "wisehub.publish.shop.client:order",
    "orders": "wisehub.publish.shop.client:orders",
    "resubmit": "wisehub.publish.shop.client:resubmit",
    "wait": "wisehub.publish.shop.client:wait",
    "download": "wisehub.publish.shop.client:download",
}

__getattr__ = lazy_getattr(globals(), _LAZY)

__all__ = sorted(_LAZY)
