"""A finished job's lineage: one Process per product, recording the job's target, parameters
and code version, and its outputs as Products written through the staged-write protocol.

Only a job that succeeded gets here, so a crashed job registers nothing. Each file is staged,
checksummed and committed before it is registered; a failed registration removes its data.
"""

from __future__ import annotations

import socket
from datetime import datetime
from pathlib import Path

from wisehub.batch.state import JobRecord
from wisehub.config import Settings
from wisehub.lineage import Context, LineageStore
from wisehub.lineage.build import environment
from wisehub.lineage.store import ProcessRecord
from wisehub.storage import get_storage, layout_prefix


def register_products(record: JobRecord, files: list[tuple[str, Path]], settings: Settings,
                      started: datetime) -> list[str]:
    """Store and register ``(product type, file)`` pairs made by ``record``; return their ids."""
    context = Context.from_settings(settings)
    storage = get_storage(settings)
    store = LineageStore(str(settings.lineage_db_url), context, storage=storage)
    prefix = layout_prefix(context.privilege, user=context.user,  # type: ignore[arg-type]
                           group=context.group, project=context.project)
    pids = []
    for type_name, path in files:
        with storage.staged(f"{prefix}/batch/{record.id}/{path.name}") as write:
            storage.fs.put_file(str(path), write.url)
        assert write.result is not None
        process = ProcessRecord(
            recipe=f"wisehub.batch:{record.kind}:{record.target}"[:200],
            code_version=record.code_version, target_keys={"job": record.id},
            parameters=record.parameters, environment=environment(),
            host=socket.gethostname(), started_at=started)
        try:
            view = store.register(type_name, name=f"{record.name or record.id}/{path.name}",
                                  attrs={"job": record.id, "kind": record.kind},
                                  data=write.result, process=process)
        except BaseException:
            storage.delete(write.result.uri)
            raise
        pids.append(view.pid)
    return pids
