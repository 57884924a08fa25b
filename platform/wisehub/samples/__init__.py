"""Deterministic synthetic observing data with recorded truth, for demos, tutorials and tests.

>>> from wisehub.samples import make_samples
>>> s = make_samples("wh-doc-samples", size="tiny", nights=1, chips=1, n_events=500)
>>> sorted(s.stores)
['galaxies', 'ifu', 'raw', 'showers']
"""

from wisehub.lazy import lazy_getattr

# Names resolve on first use: the CLI lists ``wisehub samples`` without loading astropy & co.
_LAZY = {name: f"wisehub.samples.make:{name}"
         for name in ("SampleSet", "load_truth", "make_ccd_fits", "make_samples")}

__getattr__ = lazy_getattr(globals(), _LAZY)

__all__ = sorted(_LAZY)
