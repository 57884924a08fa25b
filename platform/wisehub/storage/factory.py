"""The platform's product storage, chosen from settings: a local directory or S3.

It sits above :mod:`wisehub.storage.store` (the protocol) and :mod:`wisehub.storage.s3` (the
S3 flavour), so neither of those has to import the other.
"""

from __future__ import annotations

from wisehub.config import Settings, get_settings
from wisehub.storage.s3 import s3_storage
from wisehub.storage.store import Storage


def get_storage(settings: Settings | None = None) -> Storage:
    """The platform's product storage from settings (local directory by default).

    Parameters
    ----------
    settings
        The platform settings; default: :func:`wisehub.config.get_settings`.

    Returns
    -------
    Storage
        ``<data_dir>/products`` when ``storage`` is ``local``, else the settings' S3 bucket.

    Examples
    --------
    >>> from wisehub.config import Settings
    >>> get_storage(Settings(data_dir="/srv/wh")).url("world")
    '/srv/wh/products/world'
    """
    settings = settings or get_settings()
    if settings.storage == "local":
        return Storage.local(str(settings.data_dir / "products"))
    return s3_storage(settings)
