"""The lineage API's costs and errors: queries issue a constant number of SQL statements,
attribute access never queries, and a misspelt field fails at once. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import toys
from sqlalchemy import event
from wisehub.lineage import Result, Target, TargetError


@contextmanager
def statements(store) -> Iterator[list[str]]:
    """Every SQL statement the store's engine sends while the block runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def _five_line_script() -> tuple[list[float], list[float]]:
    q = (toys.Science.chip == "c1") & (toys.Science.filter == "r")
    x = [k.imstat.stdev for k in q]
    y = [k.flat.imstat.stdev for k in q]
    return x, y


def test_five_line_script_costs_the_same_statements_for_more_products(store):
    for frame in toys.register_night(store, science=2):
        toys.Science.get(store=store, frame=frame)
    with statements(store) as few:
        x, y = _five_line_script()
    assert len(x) == len(y) == 2

    for frame in toys.register_night(store, night="2024-03-02", mjd=60371.0, science=6):
        toys.Science.get(store=store, frame=frame)
    with statements(store) as many:
        x, y = _five_line_script()
    assert len(x) == len(y) == 8
    assert len(many) == len(few) <= 12  # two queries, a handful of statements each
    assert len({k.flat for k in toys.Science.query().using(store)}) == 2  # one per night


def test_attribute_access_and_links_never_query(store):
    frame = toys.register_night(store)[0]
    toys.Science.get(store=store, frame=frame)
    (sci,) = toys.Science.query(frame=frame).using(store)
    with statements(store) as sent:
        for _ in range(3):
            assert sci.chip == "c1" and sci.imstat.stdev > 0
            assert sci.flat.imstat.mean > 0 and sci.raw.frame == frame
    assert sent == []
    # a view read without prefetching follows its links with one query, once
    alone = store.product(sci.pid)
    with statements(store) as sent:
        assert alone.flat == sci.flat and alone.bias == sci.bias and alone.flat == sci.flat
    assert len(sent) <= 4


def test_links_stay_scoped_to_the_reader(make_store):
    bob = make_store("bob", groups=("lab",), privilege="group")
    frame = toys.register_night(bob)[0]
    sci = toys.Science.get(store=bob, frame=frame)
    bob.promote(sci.pid, "world")  # the science frame, but not its calibrations
    ada = make_store("ada")
    (seen,) = toys.Science.query(frame=frame).using(ada)
    assert seen == sci and seen.inputs() == {}
    with pytest.raises(AttributeError, match="no attribute, metadata or input 'flat'"):
        _ = seen.flat


def test_unknown_field_names_the_valid_ones():
    with pytest.raises(AttributeError, match=r"Bias has no field 'chp'; its fields are: chip, "
                                             r"night \(attributes\), .*quality_flags"):
        _ = toys.Bias.chp
    with pytest.raises(AttributeError, match="Raw has no field 'kindd'"):
        toys.Raw.query(kindd="bias")
    assert repr(toys.Raw.kind) == "<Field Raw.kind>" and repr(toys.Raw.is_valid)


def test_pipeline_fields_are_checked_too():
    from wisehub.pipelines.ccd import MasterBias, RawFrame

    with pytest.raises(AttributeError, match="MasterBias has no field 'chp'.*chip, night"):
        _ = MasterBias.chp
    assert repr(RawFrame.mjd_obs) == "<Field RawFrame.mjd_obs>"


class Undeclared(Target):
    """Returns an attribute it does not declare."""

    keys = ("n",)

    def make(self) -> Result:
        return Result(attrs={"colour": "red"})


def test_make_must_declare_the_attributes_it_returns(store):
    with pytest.raises(TargetError, match="attributes colour that the class does not declare"):
        Undeclared.get(store=store, n=1)
    assert store.select("Undeclared", ()) == []


def test_code_without_a_source_file_still_has_a_changing_version():
    from wisehub.lineage.code import code_version

    def compiled(body: str):
        namespace = {"__name__": "wisehub.scratch"}
        exec(f"class Level:\n    def value(self):\n        return {body}\n"
             "def make():\n    return Level().value()\n", namespace)
        return namespace["make"]

    one, same, two = compiled("1"), compiled("1"), compiled("2")
    versions = [code_version([f], home="wisehub.scratch") for f in (one, same, two)]
    assert set(versions[0].parts) == {"wisehub", "wisehub.scratch.Level", "wisehub.scratch.make"}
    assert versions[0] == versions[1] and versions[0].version != versions[2].version
