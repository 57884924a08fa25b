"""Executing a plan: independent branches in parallel on Dask, each node made once.

Each node to build becomes one Dask task that depends on its input nodes' tasks. With a
``distributed`` client (``wh.cluster()``) the tasks run on the cluster; otherwise on
threads. A task takes the target's build claim, checks whether a concurrent caller made the
product meanwhile, and otherwise makes it: data to a staging key, then one transaction that
registers process, product, attributes and used edges. A failure leaves nothing registered.
"""

from __future__ import annotations

import platform
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import metadata
from typing import Any

import dask
import xarray as xr

from wisehub.lineage.claims import claim
from wisehub.lineage.conditions import attr_key
from wisehub.lineage.inputs import Calibration, Each, Need, Result, Select, TargetError
from wisehub.lineage.models import utcnow
from wisehub.lineage.plan import UP_TO_DATE, PlanNode, TargetClass, differences
from wisehub.lineage.product import ProductView
from wisehub.lineage.store import LineageStore, ProcessRecord
from wisehub.storage import StorageError, layout_prefix
from wisehub.storage.zarrio import product_key, write_staged


@dataclass(frozen=True)
class NodeSpec:
    """What a build task needs to know about its node (picklable)."""

    target: TargetClass
    keys: dict[str, Any]
    params: dict[str, Any]
    force: bool
    planned_at: datetime
    covers: dict[str, float]


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """The software environment recorded with every process."""
    names = ("wisehub", "numpy", "astropy", "xarray", "dask", "zarr", "sqlalchemy")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": versions}


def execute(plan: PlanNode, store: LineageStore) -> ProductView:
    """Make every node of the plan that is not up to date; return the root's product."""
    if plan.status == UP_TO_DATE and plan.product is not None:
        return plan.product
    planned_at = utcnow()
    tasks: dict[int, Any] = {}

    def task(node: PlanNode) -> Any:
        if node.status == UP_TO_DATE and node.product is not None:
            return node.product.pid
        if id(node) not in tasks:
            inputs = {role: [task(x) if isinstance(x, PlanNode) else x.pid for x in items]
                      for role, items in node.inputs.items()}
            spec = NodeSpec(node.target, node.keys, node.params, node.force, planned_at,
                            node.covers)
            name = f"make-{node.target.type_name}-{node.target_key[:12]}"
            tasks[id(node)] = dask.delayed(build_node, pure=False, name=name)(
                store, spec, inputs, dask_key_name=f"{name}-{planned_at.timestamp()}")
        return tasks[id(node)]

    root = task(plan)
    (pid,) = dask.compute(root, **_scheduler(len(tasks)))
    return store.product(pid)


def _scheduler(n_tasks: int) -> dict[str, Any]:
    """The cluster's client when there is one; else enough threads for parallel branches."""
    try:
        from distributed import default_client

        return {"scheduler": default_client()}
    except (ImportError, ValueError):
        return {"scheduler": "threads", "num_workers": min(8, max(2, n_tasks))}


def build_node(store: LineageStore, spec: NodeSpec, inputs: dict[str, list[str]]) -> str:
    """Return the id of the up-to-date product for one node, making it if nobody else has."""
    cls = spec.target
    target_key = cls.key_of(spec.keys)
    wanted = {role: set(pids) for role, pids in inputs.items()}
    with claim(store.engine, target_key, store.context, lease=store.claim_lease,
               timeout=store.claim_timeout):
        latest = store.latest(target_key)
        if latest is not None and not (spec.force and latest.created_at < spec.planned_at) \
                and not differences(store, latest, cls.code(), spec.params, wanted):
            return latest.pid
        return _make(store, spec, inputs, target_key).pid


def _make(store: LineageStore, spec: NodeSpec, inputs: dict[str, list[str]],
          target_key: str) -> ProductView:
    cls = spec.target
    target = cls(spec.keys, spec.params)
    for role, pids in inputs.items():
        products = [store.product(pid) for pid in pids]
        declared = cls.inputs.get(role)
        if isinstance(declared, (Need, Calibration, Each)):
            for product in products:
                _check_usable(target, role, product, spec.covers.get(role))
        many = isinstance(declared, Each) or (isinstance(declared, Select) and declared.many)
        setattr(target, role, products if many else products[0])
    started = utcnow()
    with _seceded():
        result = target.make()
    if not isinstance(result, Result):
        result = Result(data=result)
    undeclared = sorted(set(map(attr_key, result.attrs)) - cls.attributes())
    if undeclared:
        raise TargetError(f"{cls.type_name}.make() returned attributes {', '.join(undeclared)} "
                          f"that the class does not declare; add them to {cls.__name__}.fields "
                          "so queries on them are checked")
    flags = int(target.verify(result))
    name = result.name or "-".join([cls.type_name, *(str(v) for v in spec.keys.values())])
    stored = None
    if result.data is not None:
        stored = _write(store, cls, name, result)
    code = cls.code()
    process = ProcessRecord(recipe=f"{cls.__module__}.{cls.__qualname__}",
                            code_version=code.version, target_keys=spec.keys,
                            parameters=spec.params,
                            environment={**environment(), "code": code.parts},
                            host=socket.gethostname(), started_at=started)
    try:
        return store.register(cls.type_name, name=name, attrs={**spec.keys, **result.attrs},
                              meta=result.meta, data=stored, process=process, used=inputs,
                              valid=result.valid, quality_flags=flags, target_key=target_key)
    except BaseException:
        if stored is not None and store.storage is not None:
            store.storage.delete(stored.uri)
        raise


def _check_usable(target: Any, role: str, product: ProductView, at: float | None) -> None:
    if product.quality_flags or product.is_valid == 0:
        raise TargetError(
            f"{target!r} needs {role} {product.type} {product.name} ({product.pid}), which "
            f"failed QC (quality_flags={product.quality_flags:#x}, is_valid="
            f"{product.is_valid}); processing stops here"
        )
    if at is not None and not (product.valid_from is not None and product.valid_to is not None
                               and product.valid_from <= at < product.valid_to):
        raise TargetError(
            f"{target!r} needs a {role} covering MJD {at}, but the {product.type} made for it "
            f"is valid {product.valid_from}–{product.valid_to}; fix its validity window"
        )


def _write(store: LineageStore, cls: TargetClass, name: str, result: Result) -> Any:
    if store.storage is None:
        raise StorageError(f"{cls.type_name} produced data but the lineage store has no "
                           "storage; open it with storage=get_storage(settings)")
    ctx = store.context
    prefix = layout_prefix(ctx.privilege, user=ctx.user, group=ctx.group,  # type: ignore[arg-type]
                           project=ctx.project)
    data = result.data
    dataset = data if isinstance(data, xr.Dataset) else data.to_dataset(name="data")
    return write_staged(store.storage, product_key(prefix, name, cls.type_name), dataset)


@contextmanager
def _seceded() -> Iterator[None]:
    """On a distributed worker, leave the thread pool while ``make()`` runs its own graphs."""
    try:
        from distributed import get_worker, rejoin, secede

        get_worker()
    except (ImportError, ValueError):
        yield
        return
    secede()
    try:
        yield
    finally:
        rejoin()
