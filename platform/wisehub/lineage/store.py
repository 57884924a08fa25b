"""The lineage store: scoped reads, atomic registration, QC and privilege changes.

>>> from wisehub.lineage.context import Context
>>> store = LineageStore("sqlite://", Context("ada"))
>>> p = store.register("Note", name="hello", attrs={"night": "2024-03-01"})
>>> store.product(p.pid).night
'2024-03-01'
>>> LineageStore("sqlite://", Context("bob"), engine=store.engine).select("Note", ())
[]
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from wisehub.lineage.claims import DEFAULT_LEASE, DEFAULT_TIMEOUT
from wisehub.lineage.conditions import Condition, attr_key, statement
from wisehub.lineage.context import (
    PRIVILEGE_NAMES,
    PRIVILEGES,
    Context,
    PrivilegeError,
    privilege_level,
)
from wisehub.lineage.graph import Lineage, downstream_seqs, upstream_seqs
from wisehub.lineage.identity import database_context, platform_context
from wisehub.lineage.models import Attribute, Process, Product, Used, utcnow
from wisehub.lineage.product import ProductView
from wisehub.lineage.relocate import relocated_key
from wisehub.lineage.schema import ensure_current

if TYPE_CHECKING:
    from wisehub.storage import Storage, StoredObject


class UnknownProductError(LookupError):
    """No readable product has this id (it may not exist, or belong to someone else)."""


@dataclass
class ProcessRecord:
    """What to record about the run that generated a product."""

    recipe: str
    code_version: str
    target_keys: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    host: str = ""
    started_at: datetime = field(default_factory=utcnow)
    pid: str = field(default_factory=lambda: str(uuid.uuid4()))


log = logging.getLogger("wisehub.lineage")
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of 10⁶ products stay hot
    cursor.close()


def _use_wal(cursor: Any, patience: float = 60.0) -> None:
    """Put the database in WAL mode. Switching needs the database to itself, and SQLite
    answers "database is locked" at once, without its busy handler, when processes opening
    a new database together switch at the same moment; so wait and retry, as the busy
    timeout would. A database already in WAL mode is left as it is."""
    deadline = time.monotonic() + patience
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def engine_for(url: str) -> Engine:
    """One shared engine per database URL in this process (WAL and busy timeout on SQLite)."""
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            if url.startswith("sqlite"):
                memory = url in ("sqlite://", "sqlite:///:memory:")
                kwargs: dict[str, Any] = {"connect_args": {"timeout": 60,
                                                           "check_same_thread": False}}
                if memory:
                    from sqlalchemy.pool import StaticPool

                    kwargs["poolclass"] = StaticPool
                engine = create_engine(url, **kwargs)
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _ENGINES[url] = engine
        return _ENGINES[url]


def close_engine(url: str) -> None:
    """Dispose of the shared engine of a URL (tests that drop their databases)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def _attr_values(value: Any) -> tuple[str | None, float | None]:
    if isinstance(value, bool):
        return None, float(value)
    if isinstance(value, (int, float)):
        return None, float(value)
    return str(value), None


def _attr_value(row: Attribute) -> Any:
    if row.value_num is None:
        return row.value_str
    number = row.value_num
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


class LineageStore:
    """Products and processes in a SQL database, every read scoped to ``context``.

    ``storage`` is where product data lives (for targets and ``delete_data``); ``engine``
    lets several contexts share one in-memory database. A build waits at most
    ``claim_timeout`` seconds for another caller's build of the same target (then
    :class:`~wisehub.lineage.claims.ClaimTimeout`); a builder that died holds its claim for
    ``claim_lease`` seconds.

    Connected to PostgreSQL as a platform user's own role (:mod:`wisehub.lineage.roles`),
    the context's user, groups and projects are the role's, whatever ``context`` says: the
    database enforces them anyway, so the library's friendly checks use the same identity.
    """

    def __init__(self, url: str, context: Context, *, storage: Storage | None = None,
                 auto_upgrade: bool = True, engine: Engine | None = None,
                 claim_timeout: float | None = DEFAULT_TIMEOUT,
                 claim_lease: float = DEFAULT_LEASE) -> None:
        self.url = url
        self.storage = storage
        self.auto_upgrade = auto_upgrade
        self.claim_timeout = claim_timeout
        self.claim_lease = claim_lease
        self.engine = engine or engine_for(url)
        ensure_current(self.engine, auto_upgrade=auto_upgrade)
        self.context = database_context(self.engine, context)

    def __repr__(self) -> str:
        return (f"LineageStore({self.engine.url.render_as_string(hide_password=True)!r}, "
                f"user={self.context.user!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self.url, self.context, self.storage, self._options()))

    def _options(self) -> dict[str, Any]:
        return {"auto_upgrade": self.auto_upgrade, "claim_timeout": self.claim_timeout,
                "claim_lease": self.claim_lease}

    def as_context(self, context: Context) -> LineageStore:
        """The same database and storage seen by another context."""
        return LineageStore(self.url, context, storage=self.storage, engine=self.engine,
                            **self._options())

    def session(self) -> Session:
        """A new ORM session (expire_on_commit off: views outlive it)."""
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------------ reads
    def _views(self, session: Session, rows: Sequence[Product], *,
               prefetch: bool = False) -> list[ProductView]:
        """Views of rows: attributes and process ids in bulk; with ``prefetch``, also the
        readable products each row's process used (``links``), in bulk."""
        if not rows:
            return []
        seqs = [r.seq for r in rows]
        attrs: dict[int, dict[str, Any]] = {s: {} for s in seqs}
        for chunk in range(0, len(seqs), 500):
            part = seqs[chunk:chunk + 500]
            for a in session.scalars(select(Attribute).where(Attribute.product_seq.in_(part))):
                attrs[a.product_seq][a.key] = _attr_value(a)
        procs = {p: None for p in {r.process_seq for r in rows} if p is not None}
        if procs:
            for seq, pid in session.execute(select(Process.seq, Process.pid)
                                            .where(Process.seq.in_(list(procs)))):
                procs[seq] = pid
        views = [ProductView(
            pid=r.pid, type=r.type, name=r.name, owner=r.owner, group=r.group_name,
            project=r.project, privilege_level=r.privilege, created_at=r.created_at,
            data_uri=r.data_uri, checksum=r.checksum, size=r.size,
            data_deleted_at=r.data_deleted_at, meta=r.meta or {}, attrs=attrs[r.seq],
            quality_flags=r.quality_flags, is_valid=r.is_valid, valid_from=r.valid_from,
            valid_to=r.valid_to, target_key=r.target_key, code_version=r.code_version,
            process_pid=procs.get(r.process_seq) if r.process_seq else None, store=self,
        ) for r in rows]
        if prefetch:
            self._link(session, rows, views)
        return views

    def _link(self, session: Session, rows: Sequence[Product], views: list[ProductView]) -> None:
        """Fill ``links`` of every view: a few statements for all of them, not one each."""
        proc_seqs = sorted({r.process_seq for r in rows if r.process_seq is not None})
        edges: list[tuple[int, str, Product]] = []
        for chunk in range(0, len(proc_seqs), 500):
            edges += session.execute(
                select(Used.process_seq, Used.role, Product)
                .join(Product, Product.seq == Used.product_seq)
                .where(Used.process_seq.in_(proc_seqs[chunk:chunk + 500]),
                       self.context.readable())
                .order_by(Used.role, Product.seq)).tuples().all()
        distinct = list({p.seq: p for _, _, p in edges}.values())
        used_views = dict(zip((p.seq for p in distinct), self._views(session, distinct),
                              strict=True))
        by_process: dict[int, dict[str, list[ProductView]]] = {}
        for proc_seq, role, product in edges:
            by_process.setdefault(proc_seq, {}).setdefault(role, []).append(
                used_views[product.seq])
        for row, view in zip(rows, views, strict=True):
            view.links = by_process.get(row.process_seq, {}) if row.process_seq else {}

    def _row(self, session: Session, pid: str) -> Product:
        row = session.scalar(select(Product).where(Product.pid == str(pid),
                                                   self.context.readable()))
        if row is None:
            raise UnknownProductError(
                f"no product with id {pid!r} is readable by user {self.context.user!r}; "
                "check the id (`wisehub lineage show ID`) or ask its owner to share it"
            )
        return row

    def product(self, pid: str) -> ProductView:
        """The readable product with this persistent id, or :class:`UnknownProductError`."""
        with self.session() as session:
            return self._views(session, [self._row(session, pid)])[0]

    def select(self, type_name: str | None, conditions: Iterable[Condition], *,
               limit: int | None = None, prefetch: bool = False) -> list[ProductView]:
        """Readable products of a type meeting all conditions, newest first.

        ``prefetch=True`` also reads, for all of them at once, the products each one used,
        so following links (``frame.flat``) costs no further query.
        """
        stmt = statement(type_name, tuple(conditions)).where(self.context.readable())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.session() as session:
            return self._views(session, session.scalars(stmt).all(), prefetch=prefetch)

    def count(self, type_name: str | None, conditions: Iterable[Condition]) -> int:
        """How many readable products meet the conditions."""
        stmt = statement(type_name, tuple(conditions)).where(self.context.readable())
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(
                stmt.order_by(None).subquery())) or 0

    def latest(self, target_key: str) -> ProductView | None:
        """The newest readable product made for a target key (any QC state)."""
        stmt = (select(Product).where(Product.target_key == target_key,
                                      self.context.readable())
                .order_by(Product.seq.desc()).limit(1))
        with self.session() as session:
            rows = session.scalars(stmt).all()
            return self._views(session, rows)[0] if rows else None

    def calibration(self, type_name: str, conditions: Iterable[Condition],
                    at: float) -> ProductView | None:
        """Astro-WISE selection: newest valid, unflagged product whose window covers ``at``.

        Newer creations eclipse older ones.
        """
        stmt = (statement(type_name, tuple(conditions), drive=False)
                .where(self.context.readable(), Product.is_valid >= 1,
                       Product.quality_flags == 0, Product.valid_from <= at,
                       Product.valid_to > at).limit(1))
        with self.session() as session:
            rows = session.scalars(stmt).all()
            return self._views(session, rows)[0] if rows else None

    def process(self, pid: str) -> dict[str, Any]:
        """The process that generated a readable product, as a plain dict (or empty)."""
        with self.session() as session:
            row = self._row(session, pid)
            if row.process_seq is None:
                return {}
            proc = session.get(Process, row.process_seq)
            assert proc is not None
            return {c.name: getattr(proc, c.key) for c in Process.__table__.columns
                    if c.name != "seq"}

    def provenance(self, pid: str) -> tuple[dict[str, Any], dict[str, list[tuple[str, int]]]]:
        """The generating process (dict; empty for raw data) and ``role -> [(pid, is_valid)]``.

        Only readable inputs are listed, as in :meth:`inputs`. Lean on purpose: staleness
        checks call it once per node.
        """
        with self.session() as session:
            found = session.execute(
                select(Process).join(Product, Product.process_seq == Process.seq)
                .where(Product.pid == str(pid), self.context.readable())).scalar()
            if found is None:
                self._row(session, pid)  # unknown or unreadable: say so
                return {}, {}
            used: dict[str, list[tuple[str, int]]] = {}
            for role, upid, valid in session.execute(
                    select(Used.role, Product.pid, Product.is_valid)
                    .join(Product, Product.seq == Used.product_seq)
                    .where(Used.process_seq == found.seq, self.context.readable())):
                used.setdefault(role, []).append((upid, valid))
            process = {c.key: getattr(found, c.key) for c in Process.__table__.columns
                       if c.key != "seq"}
            return process, used

    def inputs(self, pid: str) -> dict[str, list[ProductView]]:
        """The readable products the generating process used, by role (oldest first)."""
        with self.session() as session:
            row = self._row(session, pid)
            if row.process_seq is None:
                return {}
            used = session.execute(
                select(Used.role, Product).join(Product, Product.seq == Used.product_seq)
                .where(Used.process_seq == row.process_seq, self.context.readable())
                .order_by(Used.role, Product.seq)).all()
            views = self._views(session, [p for _, p in used])
            out: dict[str, list[ProductView]] = {}
            for (role, _), view in zip(used, views, strict=True):
                out.setdefault(role, []).append(view)
            return out

    def lineage(self, pid: str) -> Lineage:
        """Upstream and downstream of a readable product, limited to readable products."""
        readable = self.context.readable()
        with self.session() as session:
            root = self._row(session, pid)
            up, down = upstream_seqs(root.seq), downstream_seqs([root.seq])
            ups = session.scalars(select(Product).join(up, up.c.seq == Product.seq)
                                  .where(readable, Product.seq != root.seq)
                                  .order_by(Product.seq)).all()
            downs = session.scalars(select(Product).join(down, down.c.seq == Product.seq)
                                    .where(readable, Product.seq != root.seq)
                                    .order_by(Product.seq)).all()
            rows = [root, *ups, *downs]
            views = self._views(session, rows)
            visible = {r.seq: v.pid for r, v in zip(rows, views, strict=True)}
            proc_seqs = {r.process_seq for r in rows if r.process_seq is not None}
            processes = {p.pid: {c.key: getattr(p, c.key) for c in Process.__table__.columns}
                         for p in session.scalars(select(Process)
                                                  .where(Process.seq.in_(proc_seqs)))}
            edges = [(visible[product_seq], role, visible[used_seq])
                     for product_seq, role, used_seq in session.execute(
                         select(Product.seq, Used.role, Used.product_seq)
                         .join(Used, Used.process_seq == Product.process_seq)
                         .where(Product.seq.in_(list(visible)),
                                Used.product_seq.in_(list(visible))))]
        return Lineage(views[0], views[1:1 + len(ups)], views[1 + len(ups):], sorted(edges),
                       processes)

    def tainted(self, type_name: str | None = None) -> list[ProductView]:
        """Readable products that depend (transitively) on a readable product marked bad.

        The walk starts from the bad products (a partial index keeps that off a table scan)
        and counts only what the context may read, so it says nothing about others' data.
        """
        down = downstream_seqs(select(Product.seq).where(Product.is_valid == 0,
                                                         self.context.readable()))
        stmt = (select(Product).join(down, down.c.seq == Product.seq)
                .where(self.context.readable(), Product.is_valid != 0))
        if type_name is not None:
            stmt = stmt.where(Product.type == type_name)
        with self.session() as session:
            return self._views(session, session.scalars(stmt.order_by(Product.seq)).all())

    # ----------------------------------------------------------------- writes
    def register(self, type_name: str, *, name: str, attrs: Mapping[str, Any] | None = None,
                 meta: Mapping[str, Any] | None = None, data: StoredObject | None = None,
                 process: ProcessRecord | None = None,
                 used: Mapping[str, Sequence[str]] | None = None,
                 valid: tuple[float, float] | None = None, quality_flags: int = 0,
                 target_key: str | None = None) -> ProductView:
        """Record one product (and the process that made it) in one transaction.

        ``used`` maps input roles to product ids, each of which must be readable.
        """
        scope = self.context.write_scope()
        now = utcnow()
        with self.session() as session, session.begin():
            proc_seq = None
            if process is not None:
                proc = Process(pid=process.pid, recipe=process.recipe,
                               target_keys=process.target_keys, parameters=process.parameters,
                               code_version=process.code_version,
                               environment=process.environment, user=self.context.user,
                               host=process.host, status="done",
                               started_at=process.started_at, ended_at=now)
                session.add(proc)
                session.flush()
                proc_seq = proc.seq
                for role, pids in (used or {}).items():
                    for pid in dict.fromkeys(pids):
                        session.add(Used(process_seq=proc_seq, role=role,
                                         product_seq=self._row(session, pid).seq))
            row = Product(
                pid=str(uuid.uuid4()), type=type_name, name=name, created_at=now,
                data_uri=data.uri if data else None, checksum=data.checksum if data else None,
                size=data.size if data else None, meta=dict(meta or {}),
                quality_flags=int(quality_flags), is_valid=1,
                valid_from=valid[0] if valid else None, valid_to=valid[1] if valid else None,
                target_key=target_key, code_version=process.code_version if process else None,
                process_seq=proc_seq, **scope)
            session.add(row)
            session.flush()
            for key, value in (attrs or {}).items():
                text, number = _attr_values(value)
                session.add(Attribute(product_seq=row.seq, key=attr_key(key), value_str=text,
                                      value_num=number))
            session.flush()
            return self._views(session, [row])[0]

    def bulk_register(self, type_name: str,
                      items: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]], *,
                      data_uri: str | None = None, checksums: Mapping[str, str] | None = None,
                      batch: int = 20000) -> int:
        """Insert many products made by nothing (raw data) fast; return how many.

        Each item is ``(name, attrs, meta)``; ``data_uri`` is shared (e.g. one Zarr store
        holding every frame). ``checksums`` maps an item's name to its own checksum (a raw
        frame's is its FITS file's, ``sha256:<hex>``). Each batch is one transaction.
        """
        scope = self.context.write_scope()
        now = utcnow()
        total = 0
        batch_items: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = []

        def flush() -> None:
            nonlocal total
            if not batch_items:
                return
            pids = [str(uuid.uuid4()) for _ in batch_items]
            rows = [{"pid": pid, "type": type_name, "name": name, "created_at": now,
                     "meta": dict(meta), "quality_flags": 0, "is_valid": 1,
                     "data_uri": data_uri, "checksum": (checksums or {}).get(name), **scope}
                    for pid, (name, _, meta) in zip(pids, batch_items, strict=True)]
            with self.engine.begin() as conn:
                _insert_many(conn, Product.__table__, rows)
                seq_of: dict[str, int] = {}
                for chunk in range(0, len(pids), 900):
                    seq_of.update(conn.execute(select(Product.pid, Product.seq).where(
                        Product.pid.in_(pids[chunk:chunk + 900]))).tuples().all())
                attrs = []
                for pid, (_, values, _) in zip(pids, batch_items, strict=True):
                    seq = seq_of[pid]
                    for key, value in values.items():
                        text, number = _attr_values(value)
                        attrs.append({"product_seq": seq, "key": attr_key(key),
                                      "value_str": text, "value_num": number})
                _insert_many(conn, Attribute.__table__, attrs)
            total += len(batch_items)
            batch_items.clear()

        for item in items:
            batch_items.append(item)
            if len(batch_items) >= batch:
                flush()
        flush()
        return total

    def _owned_row(self, session: Session, pid: str, action: str) -> Product:
        row = self._row(session, pid)
        if row.owner != self.context.user and not self._shares_scope(row):
            raise PrivilegeError(f"user {self.context.user!r} may read but not {action} "
                                 f"product {pid}; ask its owner {row.owner!r}")
        return row

    def _shares_scope(self, row: Product) -> bool:
        ctx = self.context
        return ((row.privilege == PRIVILEGES["group"] and row.group_name in ctx.groups)
                or (row.privilege == PRIVILEGES["project"] and row.project in ctx.projects))

    def inspect(self, pid: str, is_valid: int) -> ProductView:
        """A person's verdict: ``is_valid`` 0 (bad), 1 (ok) or 2 (qualified for delivery)."""
        if is_valid not in (0, 1, 2):
            raise ValueError(f"is_valid must be 0 (bad), 1 (ok) or 2 (qualified), not {is_valid!r}")
        with self.session() as session, session.begin():
            row = self._owned_row(session, pid, "inspect")
            row.is_valid = is_valid
            row.inspected_by = self.context.user
        return self.product(pid)

    def invalidate(self, pid: str) -> ProductView:
        """Mark a product bad: calibration selection skips it, dependants become stale."""
        return self.inspect(pid, 0)

    def promote(self, pid: str, privilege: str | int, *, group: str | None = None,
                project: str | None = None) -> ProductView:
        """Widen who may read a product: only its owner may, only upwards, only to their teams.

        Sharing with a group names it (``group="lab"``) unless the owner is in exactly one
        group; the owner must belong to it. The same goes for ``project``.

        Data in the product's layout prefix moves to the new one (``groups/<g>/``,
        ``projects/<p>/``, ``world/``), so per-user S3 keys agree with lineage: it is copied
        and verified, the record updated, and only then the old copy removed
        (:mod:`wisehub.lineage.relocate`). Data that other products share is not moved: such
        a promotion is refused. On a platform with per-user keys, ``world/`` is written only
        by the platform, so a user's promotion to world fails there and changes nothing.

        >>> from wisehub.lineage.context import Context
        >>> ada = LineageStore("sqlite://", Context("ada", groups=("lab", "astro101")))
        >>> note = ada.register("Note", name="secret research")
        >>> ada.promote(note.pid, "group", group="lab").group
        'lab'
        """
        level = privilege_level(privilege)
        with self.session() as session, session.begin():
            row = self._row(session, pid)
            if row.owner != self.context.user:
                raise PrivilegeError(f"only the owner {row.owner!r} may promote product {pid}")
            if level < row.privilege:
                raise PrivilegeError(f"product {pid} is already {row.privilege}; promotion only "
                                     "widens access")
            group_name = self._team(row, level, "group", group, row.group_name,
                                    self.context.groups)
            project_name = self._team(row, level, "project", project, row.project,
                                      self.context.projects)
            new_key = self._new_data_key(session, row, level, group_name, project_name)
            values = {"privilege": level, "group_name": group_name, "project": project_name}
            if new_key is None:
                session.execute(update(Product).where(Product.seq == row.seq).values(**values))
        if new_key is not None and self.storage is not None:
            self._promote_with_data(self.storage, row, values, new_key)
        return self.product(pid)

    def _new_data_key(self, session: Session, row: Product, level: int, group: str | None,
                      project: str | None) -> str | None:
        """Where the data must go for the promotion (None: it stays); refuse shared data."""
        if self.storage is None or not row.data_uri or row.data_deleted_at is not None:
            return None
        new_key = relocated_key(
            self.storage.key_of(row.data_uri),
            (PRIVILEGE_NAMES[row.privilege], row.owner, row.group_name, row.project),
            (PRIVILEGE_NAMES[level], row.owner, group, project))
        if new_key is not None:
            _, total = self._data_sharers(session, row)
            if total:
                raise PrivilegeError(
                    f"the data of product {row.pid} also holds {total} other products, so "
                    f"promoting it would share theirs too; nothing was changed")
        return new_key

    def _promote_with_data(self, storage: Storage, row: Product, values: dict[str, Any],
                           new_key: str) -> None:
        """Copy and verify the data, point the record at it, then remove the old copy."""
        old_uri = str(row.data_uri)
        stored = storage.copy(old_uri, new_key)
        try:
            with self.session() as session, session.begin():
                changed = session.execute(update(Product).where(
                    Product.seq == row.seq, Product.data_uri == old_uri,
                    Product.privilege == row.privilege).values(**values, data_uri=stored.uri))
                if changed.rowcount != 1:
                    raise PrivilegeError(f"product {row.pid} changed while it was promoted; "
                                         "nothing was changed, please retry")
        except BaseException:
            storage.delete(new_key)
            raise
        try:
            storage.delete(old_uri)
        except Exception as error:  # both copies exist: nothing is lost, the old is only kept
            log.warning("product %s was promoted, but its old data at %s could not be "
                        "removed: %s", row.pid, old_uri, error)

    def _team(self, row: Product, level: int, kind: str, named: str | None,
              current: str | None, mine: tuple[str, ...]) -> str | None:
        """The group (or project) a promotion to ``level`` shares with, checked."""
        if row.privilege >= PRIVILEGES[kind]:  # already shared with it: it stays
            if named is not None and named != current:
                raise PrivilegeError(f"product {row.pid} is already shared with {kind} "
                                     f"{current!r}; a shared product keeps its {kind}")
            return current
        if level != PRIVILEGES[kind]:  # not shared with a team of this kind
            return current
        if named is None:
            if len(mine) != 1:
                raise PrivilegeError(
                    f"name the {kind} to share product {row.pid} with: promote(pid, "
                    f"{PRIVILEGE_NAMES[level]!r}, {kind}=...); user {self.context.user!r} is in "
                    f"{', '.join(map(repr, mine)) or f'no {kind}'}")
            named = mine[0]
        if named not in mine:
            raise PrivilegeError(f"user {self.context.user!r} is not in {kind} {named!r}, so "
                                 f"cannot share product {row.pid} with it")
        return named

    def delete_data(self, pid: str) -> ProductView:
        """Remove a product's data from storage; its metadata and lineage stay (FAIR A2).

        Data shared with other products (every raw frame of a night is one Zarr store) is
        deleted only if the caller owns every product sharing it, and then all of them are
        marked; otherwise nothing is deleted and the error says how many share it.
        """
        with self.session() as session, session.begin():
            row = self._row(session, pid)
            if row.owner != self.context.user:
                raise PrivilegeError(f"only the owner {row.owner!r} may delete data of {pid}")
            siblings: list[Product] = []
            if row.data_uri:
                siblings = self._siblings(session, row)
            if row.data_uri and self.storage is not None:
                self.storage.delete(row.data_uri)
            now = utcnow()
            for product in (row, *siblings):
                product.data_deleted_at = now
        return self.product(pid)

    def _siblings(self, session: Session, row: Product) -> list[Product]:
        """The other products whose data is ``row``'s data; refuse if any is not ours."""
        ours, total = self._data_sharers(session, row)
        if total > len(ours):
            raise PrivilegeError(
                f"the data of product {row.pid} is shared with {total} other products, "
                f"{total - len(ours)} of them not yours (e.g. the other frames of one "
                "ingested night); nothing was deleted")
        return ours

    def _data_sharers(self, session: Session, row: Product) -> tuple[list[Product], int]:
        """The caller's other live products on ``row``'s data, and how many there are in all
        (including products row security hides from the caller)."""
        live = (Product.data_uri == row.data_uri, Product.data_deleted_at.is_(None),
                Product.seq != row.seq)
        ours = session.scalars(select(Product).where(*live, Product.owner == row.owner)).all()
        if self.engine.dialect.name == "postgresql":
            # row security hides others' products; a definer function counts all of them
            total = session.scalar(text("SELECT lineage_data_uri_count(:uri, :seq)"),
                                   {"uri": row.data_uri, "seq": row.seq}) or 0
        else:
            total = session.scalar(select(func.count()).where(*live)) or 0
        return list(ours), total


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows through the driver's executemany (SQLAlchemy's per-row parameter
    building costs more than the database at 10⁶ rows); column types still convert values."""
    if not rows:
        return
    dialect = conn.dialect
    columns = [c for c in table.columns if c.name in rows[0]]
    convert = [c.type.bind_processor(dialect) or (_json_text if isinstance(c.type, JSON)
                                                  else None) for c in columns]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in columns)
    values = [tuple(f(row[c.name]) if f else row[c.name]
                    for c, f in zip(columns, convert, strict=True)) for row in rows]
    if dialect.name == "postgresql" and not conn.exec_driver_sql(  # COPY: several times faster
            f"SELECT row_security_active('{table.name}')").scalar():  # (refused under RLS)
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) "
                         f"VALUES ({', '.join([mark] * len(columns))})", values)


def _json_text(value: Any) -> str:
    return json.dumps(value)


def _reopen(url: str, context: Context, storage: Storage | None,
            options: dict[str, Any]) -> LineageStore:
    return LineageStore(url, context, storage=storage, **options)


_DEFAULT: list[LineageStore] = []


def default_store() -> LineageStore:
    """The store from settings (``WISEHUB_LINEAGE_DB_URL``, user, groups, project).

    Inside a hub's user server the user and groups come from the hub, not from settings.
    """
    if not _DEFAULT:
        from wisehub.config import get_settings
        from wisehub.storage import get_storage

        settings = get_settings()
        if str(settings.lineage_db_url).startswith("sqlite:///"):
            settings.ensure_data_dir()
        # A laptop's SQLite file is migrated on first use; a shared cluster database only by
        # an operator's `wisehub db upgrade`.
        _DEFAULT.append(LineageStore(str(settings.lineage_db_url),
                                     platform_context(settings),
                                     storage=get_storage(settings),
                                     auto_upgrade=settings.mode == "local"))
    return _DEFAULT[0]


def set_default_store(store: LineageStore | None) -> None:
    """Use ``store`` wherever no store is passed (None: back to settings)."""
    _DEFAULT.clear()
    if store is not None:
        _DEFAULT.append(store)
