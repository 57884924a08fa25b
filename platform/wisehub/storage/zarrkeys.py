"""Which object keys of a Zarr store are metadata, and the order a commit writes them in.

Pure functions without zarr itself, so the storage layer can use them without importing it.
"""

from __future__ import annotations

from collections.abc import Iterable

METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zattrs", ".zgroup", ".zmetadata"})


def is_metadata(key: str) -> bool:
    """Whether ``key`` names Zarr metadata (format 2 or 3) rather than a chunk.

    >>> is_metadata("zarr.json"), is_metadata("data/.zarray"), is_metadata("data/c/0/0")
    (True, True, False)
    """
    return key.rsplit("/", 1)[-1] in METADATA_NAMES


def metadata_last(names: Iterable[str]) -> list[list[str]]:
    """Metadata names in commit order: deepest first, the root's own metadata last.

    >>> metadata_last(["zarr.json", "a/zarr.json", "g/b/zarr.json"])
    [['g/b/zarr.json'], ['a/zarr.json'], ['zarr.json']]
    """
    by_depth: dict[int, list[str]] = {}
    for name in names:
        by_depth.setdefault(name.count("/"), []).append(name)
    return [sorted(by_depth[depth]) for depth in sorted(by_depth, reverse=True)]
