"""Views for notebooks: images, cubes, series, spectra, lineage, calibration timelines, QC trends.

Functions return holoviews objects styled for bokeh (interactive in JupyterLab) and matplotlib
(PNG export without a browser); :func:`save` writes either. In a notebook, run
``hv.extension("bokeh")`` (or ``import hvplot.xarray``) once so they display.

>>> import numpy as np, wisehub as wh
>>> type(wh.viz.image(np.zeros((4, 4)) + np.arange(4))).__name__
'Image'
"""

from wisehub.viz.calts import calibration_timeline, timeline_segments
from wisehub.viz.cube import CubeExplorer, cube_explorer, spectrum_at
from wisehub.viz.export import save
from wisehub.viz.image import image
from wisehub.viz.lineage import lineage_graph, lineage_tables, qc_state
from wisehub.viz.plots import histogram, light_curve, qc_trend, spectrum
from wisehub.viz.stretch import limits, stretch

__all__ = [
    "CubeExplorer",
    "calibration_timeline",
    "cube_explorer",
    "histogram",
    "image",
    "light_curve",
    "limits",
    "lineage_graph",
    "lineage_tables",
    "qc_state",
    "qc_trend",
    "save",
    "spectrum",
    "spectrum_at",
    "stretch",
    "timeline_segments",
]
