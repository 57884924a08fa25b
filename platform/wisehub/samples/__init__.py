"""Deterministic synthetic observing data with recorded truth, for demos, tutorials and tests.

>>> from wisehub.samples import make_samples
>>> s = make_samples("wh-doc-samples", size="tiny", nights=1, chips=1, n_events=500)
>>> sorted(s.stores)
['galaxies', 'ifu', 'raw', 'showers']
"""

from wisehub.samples.make import SampleSet, load_truth, make_ccd_fits, make_samples

__all__ = ["SampleSet", "load_truth", "make_ccd_fits", "make_samples"]
