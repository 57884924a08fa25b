"""Views for notebooks: images, cubes, series, spectra, lineage, calibration timelines, QC trends.

Functions return holoviews objects styled for bokeh (interactive in JupyterLab) and matplotlib
(PNG export without a browser); :func:`save` writes either.

>>> import numpy as np, wisehub as wh
>>> type(wh.viz.image(np.zeros((4, 4)) + np.arange(4))).__name__
'Image'
"""

from wisehub.viz.export import save
from wisehub.viz.image import image
from wisehub.viz.stretch import limits, stretch

__all__ = ["image", "limits", "save", "stretch"]
