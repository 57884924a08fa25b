"""Pipelines: chains of lineage targets for one kind of data, built on :mod:`wisehub.lineage`.

- :mod:`wisehub.pipelines.ccd`: CCD imaging, raw frames to master calibrations, reduced
  frames and coadds (``wh.targets``).

Other pipelines (IFU cubes, air showers) sit beside it; each imports the lineage engine,
never the other way round.
"""
