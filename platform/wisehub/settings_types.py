"""Field types shared by the platform settings and the hub settings, and the layout settings.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(CommaList).validate_python(" lab, astro101 ,")
['lab', 'astro101']
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_settings import NoDecode


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item for item in (part.strip() for part in value.split(",")) if item]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
"""A list of names, given as a list or, in an environment variable, comma-separated."""


Purpose = Literal["reduce", "read", "archive"]
"""What stored data is for; it decides the layout."""


class LayoutSettings(BaseModel):
    """What ingested and published data are for, and how hard to compress
    (:mod:`wisehub.storage.layoutadvice`).

    ``reduce``: stacks combined over frames, every frame of a band of rows per chunk,
    uncompressed, so local reads copy nothing; ``read``: products others open, chunks of
    about one task, zstd; ``archive``: as ``read`` with zstd at a higher level. Set them in
    the YAML file (``layouts: {ingest: archive}``) or the environment
    (``WISEHUB_LAYOUTS__INGEST=archive``).

    >>> LayoutSettings().ingest, LayoutSettings(publish="archive").publish
    ('reduce', 'archive')
    """

    model_config = ConfigDict(extra="forbid")

    ingest: Purpose = Field("reduce", description="layout of ingested FITS stacks")
    publish: Purpose = Field("read", description="layout of published datasets")
    read_zstd_level: int = Field(3, ge=-7, le=22, description="zstd level of 'read' layouts")
    archive_zstd_level: int = Field(9, ge=-7, le=22,
                                    description="zstd level of 'archive' layouts")
    reduce_compressed: bool = Field(
        False, description="zstd-compress 'reduce' layouts too (smaller, but every read "
        "decodes instead of mapping the chunk files)")
