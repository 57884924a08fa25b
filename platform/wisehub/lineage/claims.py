"""Build claims: a lease row per target key, so N concurrent callers make a product once.

The first caller inserts the row and keeps its lease fresh while it builds; the others wait
until the row is gone, then find the product already made. A crashed builder's lease expires
and is taken over. Works the same on SQLite and PostgreSQL (a primary-key conflict).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import IntegrityError, OperationalError

from wisehub.lineage.models import Claim


class ClaimTimeout(TimeoutError):
    """Another process held a build claim for longer than we were willing to wait."""


def _try_insert(engine: Engine, target_key: str, holder: str, lease: float) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(insert(Claim).values(target_key=target_key, holder=holder,
                                              expires_at=time.time() + lease))
        return True
    except IntegrityError:
        with engine.begin() as conn:  # take over a lease its holder stopped renewing
            conn.execute(delete(Claim).where(Claim.target_key == target_key,
                                             Claim.expires_at < time.time()))
        return False


@contextmanager
def claim(engine: Engine, target_key: str, *, lease: float = 30.0, poll: float = 0.05,
          timeout: float | None = None) -> Iterator[str]:
    """Hold the build claim on ``target_key`` for the duration of the block.

    >>> from sqlalchemy import create_engine
    >>> from wisehub.lineage.schema import upgrade
    >>> engine = create_engine("sqlite://"); _ = upgrade(engine)
    >>> with claim(engine, "k") as holder:
    ...     len(holder)
    32
    """
    holder = uuid.uuid4().hex
    waited_since = time.monotonic()
    while True:
        try:
            if _try_insert(engine, target_key, holder, lease):
                break
        except OperationalError:  # SQLite busy beyond its timeout: just retry
            pass
        if timeout is not None and time.monotonic() - waited_since > timeout:
            raise ClaimTimeout(f"waited {timeout:.0f} s for another build of target "
                               f"{target_key}; it is still running")
        time.sleep(poll)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(lease / 3):
            try:
                with engine.begin() as conn:
                    conn.execute(update(Claim).where(Claim.target_key == target_key,
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
                                             Claim.holder == holder))
