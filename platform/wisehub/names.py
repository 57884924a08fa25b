"""The one rule for user and group names, used by the hub, sign-up, OS accounts and RGW.

A name is 1 to 29 characters: a lower-case letter, then lower-case letters, digits, ``_`` or
``-``. The same name is a JupyterHub user or group, an OS account (or ``wh-<group>``, which
must fit the 32 characters ``useradd``/``groupadd`` allow), an RGW user id, a path segment
(``private/<user>/``, ``groups/<group>/``) and part of an S3 ARN. So nothing that means
something to a shell, a path, a glob or an IAM policy (``*``, ``?``, ``/``, ``.``, ``:``,
spaces, ``$``) is ever accepted, and a name is never all digits (a uid).

>>> is_valid("pupil1"), is_valid("*"), is_valid("Ann"), is_valid("1234")
(True, False, False, False)
>>> check("lab", kind="group")
'lab'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PATTERN = r"^[a-z][a-z0-9_-]{0,28}$"
"""The name rule as a regular expression (also JupyterHub's ``Authenticator.username_pattern``)."""

_NAME = re.compile(PATTERN)
RULE = "1-29 characters: a lower-case letter, then lower-case letters, digits, '_' or '-'"
"""The rule in words, for error messages."""


class InvalidName(ValueError):
    """A user or group name breaks the rule; the message names it and states the rule."""


def is_valid(name: object) -> bool:
    """Whether ``name`` follows the rule (a string of the allowed form).

    >>> is_valid("a" * 29), is_valid("a" * 30), is_valid("bob\\n")
    (True, False, False)
    """
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check(name: object, kind: str = "user") -> str:
    """Return ``name`` if it follows the rule, else raise :class:`InvalidName`.

    >>> check("a.b")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    wisehub.names.InvalidName: invalid user name 'a.b': use 1-29 characters: ...
    """
    if not is_valid(name):
        raise InvalidName(f"invalid {kind} name {name!r}: use {RULE}")
    return name  # type: ignore[return-value]


def invalid(names: Iterable[object]) -> list[object]:
    """The names in ``names`` that break the rule, in order.

    >>> invalid(["ann", "*", "Bob"])
    ['*', 'Bob']
    """
    return [n for n in names if not is_valid(n)]

