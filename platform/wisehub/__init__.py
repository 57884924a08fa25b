"""wisehub: a JupyterHub-centred science platform library for astronomy and astroparticle data.

``import wisehub as wh`` is light: only the settings load. Every sub-package (``wh.compute``,
``wh.reduce``, ``wh.viz``, ...) and the helpers bound below (``wh.cluster``, ``wh.targets``)
import on first use. ``wh.__all__`` and ``dir(wh)`` list them all; ``docs/api.md`` is the
one-page reference.

>>> import wisehub as wh
>>> wh.__version__
'0.1.0'
>>> "compute" in wh.__all__ and wh.compute.__name__
'wisehub.compute'
"""

from wisehub.catalog import catalog  # a function named like its package: bind it eagerly
from wisehub.config import Settings, get_settings, load_settings
from wisehub.errors import SettingsError
from wisehub.lazy import lazy_getattr

__version__ = "0.1.0"
"""The package version; pyproject.toml reads it from here (the one place it is written)."""

# Resolved on first use, so `import wisehub` stays light. A value "pkg.module:attr" binds a
# function, a plain "pkg.module" the module itself.
_LAZY = {
    "cluster": "wisehub.compute:cluster",
    "compute": "wisehub.compute",
    "conventions": "wisehub.conventions",
    "dev": "wisehub.dev",
    "hub": "wisehub.hub",
    "ingest": "wisehub.ingest",
    "lineage": "wisehub.lineage",
    "names": "wisehub.names",
    "reduce": "wisehub.reduce",
    "resources": "wisehub.resources",
    "samples": "wisehub.samples",
    "storage": "wisehub.storage",
    "pipelines": "wisehub.pipelines",
    "targets": "wisehub.pipelines.ccd",
    "viz": "wisehub.viz",
    "clusters": "wisehub.compute:clusters",
    "batch": "wisehub.batch",
    "publish": "wisehub.publish",
}


__getattr__ = lazy_getattr(globals(), _LAZY)


def __dir__() -> list[str]:
    # The public names and the module's dunders, not the helpers this file imports.
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


# Every public name, the lazy ones included (tests/test_api.py keeps this list complete).
__all__ = [
    "Settings",
    "SettingsError",
    "batch",
    "catalog",
    "cluster",
    "clusters",
    "compute",
    "config",
    "conventions",
    "dev",
    "get_settings",
    "hub",
    "ingest",
    "lineage",
    "load_settings",
    "names",
    "pipelines",
    "publish",
    "reduce",
    "resources",
    "samples",
    "storage",
    "targets",
    "viz",
]
