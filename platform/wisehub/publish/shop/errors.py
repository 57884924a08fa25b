"""What can go wrong with a shop request, each with the HTTP status the REST API answers.

Every error is raised before anything is queued, and its message says what to change.

>>> ShopError("x").status, ShopAccessError("x").status, UnknownOrderError("x").status
(400, 403, 404)
"""

from __future__ import annotations


class ShopError(ValueError):
    """The request cannot be fulfilled as asked (bad cut, unknown column, over a limit)."""

    status = 400


class ShopAccessError(ShopError, PermissionError):
    """The user may not read the dataset; the message names the groups that may."""

    status = 403


class UnknownDatasetError(ShopError, LookupError):
    """No shop dataset has this name."""

    status = 404


class UnknownOrderError(ShopError, LookupError):
    """No order of this user has this id (it may not exist, or be someone else's)."""

    status = 404
