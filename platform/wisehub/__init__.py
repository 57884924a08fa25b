"""wisehub: a JupyterHub-centred science platform library for astronomy and astroparticle data.

>>> import wisehub as wh
>>> wh.__version__
'0.1.0'
"""

from importlib import import_module
from typing import Any

from wisehub.catalog import catalog  # a function named like its package: bind it eagerly
from wisehub.config import Settings, get_settings, load_settings

__version__ = "0.1.0"

# Sub-packages and helpers resolve on first use, so `import wisehub` stays light.
# A value "pkg.module:attr" binds a function, a plain "pkg.module" the module itself.
_LAZY = {
    "samples": "wisehub.samples",
    "storage": "wisehub.storage",
    "viz": "wisehub.viz",
    "ingest": "wisehub.ingest",
    "cluster": "wisehub.compute:cluster",
    "reduce": "wisehub.reduce",
    "lineage": "wisehub.lineage",
    "targets": "wisehub.pipelines.ccd",
    "publish": "wisehub.publish",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module_name, _, attr = _LAZY[name].partition(":")
        module = import_module(module_name)
        return getattr(module, attr) if attr else module
    raise AttributeError(f"module 'wisehub' has no attribute {name!r}")


__all__ = ["Settings", "catalog", "get_settings", "load_settings"]
