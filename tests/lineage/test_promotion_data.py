"""Promotion takes the data along to the new privilege's prefix, and never loses it.

Before, promotion only changed the record: the data stayed in ``private/<owner>/``, where
per-user S3 keys of the new readers are denied (tests/storage/test_isolation.py shows it on
real Ceph RGW). These run on SQLite and PostgreSQL with local storage.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from wisehub.lineage import PrivilegeError
from wisehub.storage import StorageError
from wisehub.storage.zarrio import product_key, write_staged


def stored_note(store, name: str = "result"):
    """A product with Zarr data in its owner's private prefix."""
    data = xr.Dataset({"data": (("y", "x"), np.arange(12.0).reshape(3, 4))})
    stored = write_staged(store.storage, product_key(f"private/{store.context.user}", name,
                                                      "Note"), data)
    return store.register("Note", name=name, data=stored)


def test_promotion_moves_the_data_to_the_new_prefix(make_store):
    ada = make_store("ada", groups=("lab", "astro101"))
    note = stored_note(ada)
    old = note.data_uri
    promoted = ada.promote(note.pid, "group", group="lab")
    assert ada.storage.key_of(promoted.data_uri).startswith("groups/lab/Note/result-")
    assert promoted.checksum == note.checksum
    assert not ada.storage.exists(old)
    assert float(xr.open_zarr(promoted.data_uri)["data"].sum()) == 66.0
    world = ada.promote(note.pid, "world")
    assert ada.storage.key_of(world.data_uri).startswith("world/Note/result-")
    assert not ada.storage.exists(promoted.data_uri)


def test_a_failed_copy_changes_nothing_and_keeps_the_data(make_store, monkeypatch):
    ada = make_store("ada", groups=("lab",))
    note = stored_note(ada)

    def broken(source: str, key: str):
        raise StorageError("the store went away")

    monkeypatch.setattr(ada.storage, "copy", broken)
    with pytest.raises(StorageError):
        ada.promote(note.pid, "group")
    after = ada.product(note.pid)
    assert (after.privilege, after.data_uri) == ("private", note.data_uri)
    assert ada.storage.checksum(note.data_uri)[0] == note.checksum


def test_a_failed_record_update_removes_the_copy_and_keeps_the_old(make_store, monkeypatch):
    ada = make_store("ada", groups=("lab",))
    note = stored_note(ada)
    copies = []
    real_copy = ada.storage.copy

    def copy_then_someone_else_changes_the_record(source: str, key: str):
        copies.append(real_copy(source, key))
        ada.promote(note.pid, "group")  # meanwhile (no data move for the inner call)
        return copies[-1]

    monkeypatch.setattr(ada.storage, "copy", copy_then_someone_else_changes_the_record)
    monkeypatch.setattr(type(ada), "_new_data_key", _once(type(ada)._new_data_key))
    with pytest.raises(PrivilegeError, match="changed while it was promoted"):
        ada.promote(note.pid, "group")
    assert not ada.storage.exists(copies[0].uri)
    assert ada.storage.checksum(note.data_uri)[0] == note.checksum


def _once(method):
    """``method`` for its first call, then "nothing to move" (the inner promotion above)."""
    calls = []

    def wrapper(self, *args):
        calls.append(1)
        return method(self, *args) if len(calls) == 1 else None

    return wrapper


def test_shared_data_is_not_moved_by_one_products_promotion(make_store):
    ada = make_store("ada", groups=("lab",))
    note = stored_note(ada)
    twin = ada.register("Note", name="twin", data=_same(note))
    with pytest.raises(PrivilegeError, match="also holds 1 other"):
        ada.promote(note.pid, "group")
    assert ada.product(note.pid).privilege == "private"
    assert ada.storage.exists(note.data_uri) and ada.product(twin.pid).data_uri == note.data_uri


def _same(view):
    from wisehub.storage import StoredObject

    return StoredObject(view.data_uri, view.checksum, view.size)


def test_data_outside_the_layout_stays_where_it_is(make_store, tmp_path):
    ada = make_store("ada")
    raw = tmp_path / "raw.zarr"
    xr.Dataset({"data": ("x", np.zeros(3))}).to_zarr(raw)
    from wisehub.storage import StoredObject

    frame = ada.register("Note", name="raw", data=StoredObject(str(raw), "sha256:x", 1))
    assert ada.promote(frame.pid, "world").data_uri == str(raw)
