"""The JupyterHub side of wisehub: one ``configure(c, settings)`` for both modes, hub services,
and the local launcher (``wisehub up``).

Importing this package is cheap (the platform settings import :mod:`wisehub.hub.settings`);
JupyterHub itself is imported only by the modules that need it.
"""

from typing import Any

__all__ = ["configure"]


def __getattr__(name: str) -> Any:
    if name == "configure":
        from wisehub.hub.configuration import configure

        return configure
    raise AttributeError(f"module 'wisehub.hub' has no attribute {name!r}")
