"""Every public API, asked for another user's private products, must fail or show nothing."""

from __future__ import annotations

import pytest
import toys
from wisehub.lineage import (
    Condition,
    PrivilegeError,
    TargetError,
    UnknownProductError,
)


@pytest.fixture
def bob_and_ada(make_store):
    """Bob's private night (raw frames and a made science frame) and Ada's empty store."""
    bob = make_store("bob", groups=("lab",), projects=("survey",))
    frame = toys.register_night(bob)[0]
    sci = toys.Science.get(store=bob, frame=frame)
    ada = make_store("ada", groups=("lab",), projects=("survey",))
    return bob, ada, sci, frame


def test_private_products_are_invisible_to_others(bob_and_ada):
    bob, ada, sci, frame = bob_and_ada
    pids = [sci.pid, sci.flat.pid, sci.bias.pid, sci.raw.pid]
    for pid in pids:
        for call in (ada.product, ada.inputs, ada.provenance, ada.process, ada.invalidate,
                     ada.delete_data, lambda p: ada.inspect(p, 2),
                     lambda p: ada.promote(p, "world"), lambda p: ada.lineage(p)):
            with pytest.raises(UnknownProductError):
                call(pid)
    assert ada.select(None, ()) == []
    assert ada.count(None, ()) == 0
    assert ada.latest(sci.target_key) is None
    assert ada.calibration("Flat", (), at=60370.0) is None
    assert list((toys.Science.chip == "c1").using(ada)) == []
    assert len(toys.Raw.query(night="2024-03-01").using(ada)) == 0
    assert ada.select("Raw", (Condition("owner", "==", "bob"),)) == []
    assert ada.tainted() == []
    with pytest.raises(TargetError, match="no Raw with frame="):
        toys.Science.get(store=ada, frame=frame)
    toys.register_night(ada)  # Ada's own frames, under the same names
    with pytest.raises(UnknownProductError):  # an explicit choice of a hidden product
        toys.Science.get(store=ada, frame=frame, use={"flat": sci.flat.pid})
    mine = toys.Science.get(store=ada, frame=frame)  # Bob's calibrations are not used
    assert mine.owner == "ada" and {p.owner for p in ada.lineage(mine.pid).upstream} == {"ada"}
    with pytest.raises(UnknownProductError):  # registering a product that used bob's frames
        ada.register("Note", name="steal", used={"x": [sci.raw.pid]},
                     process=toys_process())
    # Bob's data is untouched by all of the above
    assert bob.product(sci.pid).is_valid == 1 and bob.product(sci.pid).has_data


def toys_process():
    from wisehub.lineage.store import ProcessRecord

    return ProcessRecord(recipe="test", code_version="0")


def test_group_sharing_and_promotion(bob_and_ada, make_store):
    bob, ada, sci, _ = bob_and_ada
    outsider = make_store("eve", groups=("other",))
    bob.promote(sci.pid, "group")
    shared = ada.product(sci.pid)
    with pytest.raises(PrivilegeError, match="only the owner"):
        ada.promote(sci.pid, "world")
    assert shared.privilege == "group"
    with pytest.raises(UnknownProductError):
        outsider.product(sci.pid)
    # links and lineage stop at what Ada may read: Bob's private inputs stay hidden
    assert ada.inputs(sci.pid) == {}
    with pytest.raises(AttributeError):
        _ = shared.flat
    assert ada.lineage(sci.pid).upstream == []
    with pytest.raises(PrivilegeError, match="only widens"):
        bob.promote(sci.pid, "private")
    ada.inspect(sci.pid, 2)  # group members may inspect a group product
    assert bob.product(sci.pid).is_valid == 2
    with pytest.raises(PrivilegeError, match="only the owner"):
        ada.delete_data(sci.pid)
    bob.promote(sci.pid, "world")
    assert outsider.product(sci.pid).privilege == "world"
    with pytest.raises(PrivilegeError, match="may read but not inspect"):
        outsider.invalidate(sci.pid)


def test_writes_take_the_context_privilege(make_store):
    lab = make_store("ada", groups=("lab",), privilege="group")
    product = lab.register("Note", name="shared")
    assert (product.privilege, product.group) == ("group", "lab")
    assert make_store("cy", groups=("lab",)).product(product.pid).name == "shared"
    made = toys.Slow.get(store=lab, label="g", seconds=0.0)
    assert made.privilege == "group"
    with pytest.raises(PrivilegeError, match="has no group"):
        make_store("zed", privilege="group")


def test_the_cli_cannot_reach_private_products_either(bob_and_ada):
    from typer.testing import CliRunner
    from wisehub.cli import app
    from wisehub.lineage import set_default_store

    bob, ada, sci, _ = bob_and_ada
    set_default_store(ada)
    try:
        for command in (["show"], ["tree"], ["prov"], ["invalidate"],
                        ["inspect", "--valid", "0"]):
            args = ["lineage", command[0], sci.pid, *command[1:]]
            result = CliRunner().invoke(app, args)
            assert isinstance(result.exception, UnknownProductError), args
            assert sci.pid not in result.output or "no product" in result.output
    finally:
        set_default_store(None)
    assert bob.product(sci.pid).is_valid == 1
