"""Where a product's data goes when it is promoted, so the store's rules agree with lineage.

Data lives under the layout prefix of its privilege (``private/<owner>/``, ``groups/<g>/``,
``projects/<p>/``, ``world/``), and RGW bucket policies give per-user keys exactly those
prefixes. A promotion that left the data in ``private/<owner>/`` would let the new readers
see the product but not read it. So the data moves with the promotion: copied to the new
prefix and verified, then the record points there, then the old copy goes. A failure at any
step keeps the record and the old data as they were.

>>> relocated_key("private/ada/Note/x.zarr", ("private", "ada", None, None),
...               ("group", "ada", "lab", None))
'groups/lab/Note/x.zarr'
>>> relocated_key("/data/raw.zarr", ("private", "ada", None, None), ("world", "ada", None, None))
"""

from __future__ import annotations

from wisehub.storage import layout_prefix

Place = tuple[str, str, str | None, str | None]
"""``(privilege name, owner, group, project)``: what decides a product's layout prefix."""


def _prefix(place: Place) -> str:
    privilege, owner, group, project = place
    return layout_prefix(privilege, user=owner, group=group,  # type: ignore[arg-type]
                         project=project)


def relocated_key(key: str | None, old: Place, new: Place) -> str | None:
    """The key the data at ``key`` takes when its product moves from ``old`` to ``new``.

    None when nothing moves: no data in this storage, data outside the old place's prefix
    (raw data registered where it lies), or the same prefix.
    """
    if key is None:
        return None
    before, after = _prefix(old), _prefix(new)
    if before == after or not key.startswith(before + "/"):
        return None
    return f"{after}/{key[len(before) + 1:]}"
