"""Errors shared across the library's layers.

:class:`SettingsError` lives here, below both the platform settings (:mod:`wisehub.config`)
and the hub settings (:mod:`wisehub.hub.settings`), so neither has to import the other to
raise it.

>>> raise SettingsError("data_dir (WISEHUB_DATA_DIR): /nope is not writable")
Traceback (most recent call last):
...
wisehub.errors.SettingsError: data_dir (WISEHUB_DATA_DIR): /nope is not writable
"""


class SettingsError(ValueError):
    """An invalid setting; the message names the setting and what is expected."""
