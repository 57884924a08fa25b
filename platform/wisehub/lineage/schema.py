"""Schema versions of the lineage store: upgrade with Alembic, refuse a newer schema.

>>> from sqlalchemy import create_engine
>>> engine = create_engine("sqlite://")
>>> upgrade(engine, "0001")
'0001'
>>> schema_state(engine)
('0001', '0005')
>>> upgrade(engine)
'0005'
"""

from __future__ import annotations

import time
from contextlib import suppress

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError


class SchemaError(RuntimeError):
    """The database's schema does not fit this version of wisehub; the message says what to do."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "wisehub.lineage:migrations")
    return config


def head_revision() -> str:
    """The newest schema revision this wisehub knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def schema_state(engine: Engine) -> tuple[str | None, str]:
    """``(database revision or None if empty, head revision of this code)``."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head_revision()


def _check_known(engine: Engine, current: str | None) -> None:
    if current is None:
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current not in known:
        raise SchemaError(
            f"the lineage database {engine.url.render_as_string(hide_password=True)} has schema "
            f"revision {current!r}, newer than this wisehub knows (head {head_revision()!r}); "
            "upgrade wisehub instead of migrating the database, which was left unchanged"
        )


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Migrate the database to ``revision`` (default: head); return it. Newer is refused."""
    current, head = schema_state(engine)
    _check_known(engine, current)
    target = head if revision == "head" else revision
    if current != target:
        config = _config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, target)
    return target


def ensure_current(engine: Engine, *, auto_upgrade: bool) -> None:
    """Check the schema is the head; upgrade an older one if ``auto_upgrade``, else explain."""
    current, head = schema_state(engine)
    _check_known(engine, current)
    if current == head:
        return
    if auto_upgrade:
        try:
            upgrade(engine)
        except DBAPIError:
            # Another process (a second batch job, a Dask worker) found the same old schema
            # and is migrating it: fine once its migration lands.
            if not _becomes_current(engine, head):
                raise
        return
    raise SchemaError(
        f"the lineage database {engine.url.render_as_string(hide_password=True)} is at schema "
        f"revision {current!r} but this wisehub needs {head!r}; run `wisehub db upgrade`"
    )


def _becomes_current(engine: Engine, head: str, wait: float = 60.0) -> bool:
    """Whether the schema reaches ``head`` within ``wait`` seconds (another migration)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with suppress(DBAPIError):
            if schema_state(engine)[0] == head:
                return True
        time.sleep(0.2)
    return False
