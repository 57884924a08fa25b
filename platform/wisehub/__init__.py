"""wisehub: a JupyterHub-centred science platform library for astronomy and astroparticle data.

>>> import wisehub as wh
>>> wh.__version__
'0.1.0'
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public names resolve lazily, so `import wisehub` stays fast in kernels and CLI start-up.
_LAZY = {
    "Settings": "wisehub.config",
    "load_settings": "wisehub.config",
    "get_settings": "wisehub.config",
    "catalog": "wisehub.catalog",
    "samples": "wisehub.samples",
    "storage": "wisehub.storage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = import_module(_LAZY[name])
        return module if module.__name__.endswith(name) else getattr(module, name)
    raise AttributeError(f"module 'wisehub' has no attribute {name!r}")
