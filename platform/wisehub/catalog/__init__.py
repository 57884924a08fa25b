"""Find and open data through the platform's Intake 2 catalogues.

This package stays light to import (``import wisehub`` binds :func:`catalog`); intake,
xarray and astropy load on the first call.

>>> import wisehub as wh
>>> cat = wh.catalog()
>>> "whcam.raw" in cat.names()
True
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from wisehub.lazy import lazy_getattr

if TYPE_CHECKING:
    from wisehub.catalog.platform import PlatformCatalog
    from wisehub.config import Settings

_LAZY = {
    "CatalogError": "wisehub.catalog.platform:CatalogError",
    "Entry": "wisehub.catalog.platform:Entry",
    "PlatformCatalog": "wisehub.catalog.platform:PlatformCatalog",
    "publish": "wisehub.catalog.publish:publish",
}


def catalog(url: str | os.PathLike | None = None, settings: Settings | None = None
            ) -> PlatformCatalog:
    """Open the platform's root catalogue (from settings unless ``url`` is given).

    See :func:`wisehub.catalog.platform.open_catalog`.

    Examples
    --------
    >>> import wisehub as wh
    >>> cat = wh.catalog()
    >>> sorted(cat.search(instrument="WHCAM").names())
    ['whcam.raw', 'whcam.raw.s3']
    """
    from wisehub.catalog.platform import open_catalog

    return open_catalog(url, settings)


__getattr__ = lazy_getattr(globals(), _LAZY)


__all__ = ["CatalogError", "Entry", "PlatformCatalog", "catalog", "publish"]
