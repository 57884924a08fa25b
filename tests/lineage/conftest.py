"""Lineage fixtures: every store test runs on SQLite and on a real PostgreSQL.

The PostgreSQL cluster (Debian's initdb + pg_ctl on 127.0.0.1) starts once per session;
each test gets its own fresh database in it, and its own SQLite file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from wisehub.dev.postgres import PostgresServer, postgres_server
from wisehub.lineage import Context, LineageStore, set_default_store
from wisehub.lineage.store import close_engine
from wisehub.storage import Storage


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the whole session, stopped at the end."""
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """A fresh, empty lineage database URL: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'lineage.sqlite'}"
    else:
        url = request.getfixturevalue("pg_server").create_database()
    yield url
    close_engine(url)


@pytest.fixture
def storage(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    """Product storage under a fresh local directory."""
    return Storage.local(str(tmp_path_factory.mktemp("products")))


@pytest.fixture
def make_store(db_url: str, storage: Storage) -> Callable[..., LineageStore]:
    """``make_store(user, groups=(), projects=(), privilege="private")`` on one database."""

    def make(user: str = "ada", groups: tuple[str, ...] = (), projects: tuple[str, ...] = (),
             privilege: str = "private") -> LineageStore:
        return LineageStore(db_url, Context(user, groups, projects, privilege=privilege),
                            storage=storage)

    return make


@pytest.fixture
def store(make_store: Callable[..., LineageStore]) -> Iterator[LineageStore]:
    """Ada's store, also the default store for queries without ``using()``."""
    ada = make_store("ada", groups=("lab",), projects=("survey",))
    set_default_store(ada)
    yield ada
    set_default_store(None)
