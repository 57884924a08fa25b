"""Find and open data through the platform's Intake 2 catalogues.

>>> import wisehub as wh
>>> cat = wh.catalog()                               # doctest: +SKIP
>>> raw = cat["whcam.raw"].read()                    # doctest: +SKIP
"""

from wisehub.catalog.platform import CatalogError, Entry, PlatformCatalog, catalog

__all__ = ["CatalogError", "Entry", "PlatformCatalog", "catalog"]
