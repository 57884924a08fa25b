"""Settings of the Zarr layouts ingest and publish choose (:mod:`wisehub.storage.layoutadvice`).

A layout follows from what the data is for: ``reduce`` (stacks combined over frames: every
frame of a band of rows per chunk, uncompressed, so local reads copy nothing), ``read``
(products others open: chunks of about one task, zstd) or ``archive`` (one frame per chunk,
zstd at a higher level: smallest on disk, slowest to combine). Set them in the YAML file
(``layouts: {ingest: archive}``) or the environment (``WISEHUB_LAYOUTS__INGEST=archive``).

>>> LayoutSettings().ingest, LayoutSettings(publish="archive").publish
('reduce', 'archive')
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Purpose = Literal["reduce", "read", "archive"]


class LayoutSettings(BaseModel):
    """What ingested and published data are for, and how hard to compress."""

    model_config = ConfigDict(extra="forbid")

    ingest: Purpose = Field("reduce", description="layout of ingested FITS stacks")
    publish: Purpose = Field("read", description="layout of published datasets")
    read_zstd_level: int = Field(3, ge=-7, le=22, description="zstd level of 'read' layouts")
    archive_zstd_level: int = Field(9, ge=-7, le=22,
                                    description="zstd level of 'archive' layouts")
    reduce_compressed: bool = Field(
        False, description="zstd-compress 'reduce' layouts too (smaller, but every read "
        "decodes instead of mapping the chunk files)")
