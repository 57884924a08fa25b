"""Errors shared across the library's layers.

:class:`SettingsError` lives here, below both the platform settings (:mod:`wisehub.config`)
and the hub settings (:mod:`wisehub.hub.settings`), so neither has to import the other to
raise it.
"""


class SettingsError(ValueError):
    """An invalid setting; the message names the setting and what is expected.

    >>> from wisehub.config import load_settings
    >>> load_settings(mode="orbit")
    Traceback (most recent call last):
    ...
    wisehub.errors.SettingsError: invalid setting mode (WISEHUB_MODE) (got 'orbit'): ...
    """
