"""FITS → Zarr ingest: raw data arrives as FITS and is kept as chunked, lazily readable Zarr.

Ingest only ingests: WCS and units follow :mod:`wisehub.conventions`, Zarr goes through
:mod:`wisehub.storage.zarrio`, and registering the frames in the lineage store is the CLI's
next step (``wisehub ingest``).

Names resolve on first use, so ``wisehub ingest --help`` (and every other command of the
CLI, which lists this one) starts without xarray, dask or astropy.

>>> import wisehub.ingest as ingest
>>> ingest.ingest_fits.__module__
'wisehub.ingest.frames'
"""

from wisehub.lazy import lazy_getattr

_LAZY = {
    "IngestError": "wisehub.ingest.headers:IngestError",
    "ingest_fits": "wisehub.ingest.frames:ingest_fits",
    "open_fits_stack": "wisehub.ingest.stack:open_fits_stack",
    "read_cube_fits": "wisehub.ingest.cube:read_cube_fits",
    "read_frame_header": "wisehub.ingest.headers:read_frame_header",
    "reduction_chunks": "wisehub.ingest.stack:reduction_chunks",
    "write_ingested": "wisehub.ingest.frames:write_ingested",
}

__getattr__ = lazy_getattr(globals(), _LAZY)

__all__ = sorted(_LAZY)
