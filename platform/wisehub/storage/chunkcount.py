"""Does a written Zarr hold every chunk its metadata promises?

A product is written densely (``write_empty_chunks=True``): each array has one object per
cell of its chunk grid. A commit that found fewer (a writer cut off, a staging area removed
under it) would register a product that Zarr reads with fill values where data is missing,
silently. :func:`incomplete_arrays` compares a manifest with the metadata.

Pure functions over names and metadata documents, for Zarr formats 2 and 3.

>>> meta = {"zarr.json": {"node_type": "group"},
...         "data/zarr.json": {"node_type": "array", "shape": [4, 6],
...                            "chunk_grid": {"configuration": {"chunk_shape": [2, 3]}}}}
>>> names = ["zarr.json", "data/zarr.json", "data/c/0/0", "data/c/0/1", "data/c/1/0"]
>>> incomplete_arrays(names, meta.__getitem__)
['data: 3 of 4 chunks']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from wisehub.storage.zarrkeys import is_metadata

ARRAY_METADATA = ("zarr.json", ".zarray")


def expected_chunks(metadata: dict[str, Any]) -> int | None:
    """How many chunk objects a dense array has, or None if ``metadata`` is not an array's.

    >>> expected_chunks({"shape": [10, 4], "chunks": [3, 4], "zarr_format": 2})
    4
    >>> expected_chunks({"node_type": "group"}) is None
    True
    """
    if metadata.get("node_type", "array") != "array" or "shape" not in metadata:
        return None
    grid = metadata.get("chunks") or metadata.get("chunk_grid", {}).get(
        "configuration", {}).get("chunk_shape")
    if grid is None:
        return None  # a chunk grid this check does not know: nothing to compare
    return math.prod(-(-int(size) // max(1, int(chunk)))
                     for size, chunk in zip(metadata["shape"], grid, strict=True))


def incomplete_arrays(names: Iterable[str], read: Callable[[str], dict[str, Any]]
                      ) -> list[str]:
    """Arrays with fewer chunk objects in ``names`` than their metadata says, described.

    ``names`` are the object names of one Zarr (relative to its root); ``read`` returns the
    parsed metadata document of one of them.
    """
    names = list(names)
    chunks = [n for n in names if not is_metadata(n)]
    problems = []
    for name in sorted(names):
        folder, _, leaf = name.rpartition("/")
        if leaf not in ARRAY_METADATA:
            continue
        wanted = expected_chunks(read(name))
        if wanted is None:
            continue
        prefix = f"{folder}/" if folder else ""
        found = sum(1 for n in chunks if n.startswith(prefix))
        if found < wanted:
            problems.append(f"{folder or '/'}: {found} of {wanted} chunks")
    return problems
