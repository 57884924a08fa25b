"""Build claims: a lease row per target key and write scope, so concurrent callers make once.

The first caller inserts the row and keeps its lease fresh while it builds; the others wait
until the row is gone, then find the product already made. A crashed builder's lease expires
(after ``lease`` seconds) and is taken over; a waiter gives up after ``timeout`` seconds with
:class:`ClaimTimeout`. Works the same on SQLite and PostgreSQL (a primary-key conflict).

The scope is where the product goes (:func:`write_scope`): two users building the same target
privately make two products and never wait for each other, and on PostgreSQL row security
lets a user claim only in scopes they write to, so nobody can plant a claim that blocks
another user's private builds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError, OperationalError

from wisehub.lineage.context import PRIVILEGES, Context
from wisehub.lineage.models import Claim

DEFAULT_LEASE = 30.0
DEFAULT_TIMEOUT = 3600.0


class ClaimTimeout(TimeoutError):
    """Another process held a build claim for longer than we were willing to wait."""


def write_scope(context: Context) -> str:
    """Where this context's builds write: ``user:<u>``, ``group:<g>``, ``project:<p>``, ``world``.

    >>> write_scope(Context("ada", groups=("lab",), privilege="group"))
    'group:lab'
    """
    if context.level == PRIVILEGES["group"]:
        return f"group:{context.group}"
    if context.level == PRIVILEGES["project"]:
        return f"project:{context.project}"
    if context.level == PRIVILEGES["world"]:
        return "world"
    return f"user:{context.user}"


def _try_insert(engine: Engine, key: str, scope: str, owner: str, holder: str,
                lease: float) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(insert(Claim).values(target_key=key, scope=scope, holder=holder,
                                              owner=owner, expires_at=time.time() + lease))
        return True
    except IntegrityError:
        with engine.begin() as conn:  # take over a lease its holder stopped renewing
            conn.execute(delete(Claim).where(Claim.target_key == key, Claim.scope == scope,
                                             Claim.expires_at < time.time()))
        return False


@contextmanager
def claim(engine: Engine, target_key: str, context: Context, *, lease: float = DEFAULT_LEASE,
          poll: float = 0.05, timeout: float | None = DEFAULT_TIMEOUT) -> Iterator[str]:
    """Hold the build claim on ``target_key`` in ``context``'s write scope during the block.

    >>> from sqlalchemy import create_engine
    >>> from wisehub.lineage.schema import upgrade
    >>> engine = create_engine("sqlite://"); _ = upgrade(engine)
    >>> with claim(engine, "k", Context("ada")) as holder:
    ...     len(holder)
    32
    """
    holder = uuid.uuid4().hex
    scope = write_scope(context)
    waited_since = time.monotonic()
    while True:
        try:
            if _try_insert(engine, target_key, scope, context.user, holder, lease):
                break
        except OperationalError:  # SQLite busy beyond its timeout: just retry
            pass
        if timeout is not None and time.monotonic() - waited_since > timeout:
            raise ClaimTimeout(
                f"waited {timeout:g} s for another build of target {target_key} in scope "
                f"{scope}; it is still running or its builder died (a dead builder's claim "
                f"expires {lease:g} s after its last renewal). Try again later, or raise the "
                "store's claim_timeout")
        time.sleep(poll)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease / 3):
            try:
                with engine.begin() as conn:
                    conn.execute(update(Claim).where(Claim.target_key == target_key,
                                                     Claim.scope == scope,
                                                     Claim.holder == holder)
                                 .values(expires_at=time.time() + lease))
            except OperationalError:
                continue

    renewer = threading.Thread(target=renew, name=f"claim-{target_key[:8]}", daemon=True)
    renewer.start()
    try:
        yield holder
    finally:
        stop.set()
        renewer.join()
        with engine.begin() as conn:
            conn.execute(delete(Claim).where(Claim.target_key == target_key,
                                             Claim.scope == scope, Claim.holder == holder))
