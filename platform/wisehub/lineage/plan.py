"""Planning ``Target.get()``: resolve inputs recursively and mark what is missing or stale.

Planning only reads the store, so a request that cannot be satisfied (nothing selected,
ambiguous candidates, a cycle, failed QC upstream) fails before anything is made.

A product is stale ("outdated") when a person marked it bad, its data was deleted, its code
version or parameters changed, an input it used was invalidated, or an input query now
selects other products (including inputs that will be remade).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wisehub.lineage.code import changed_parts
from wisehub.lineage.conditions import Condition, conditions_from
from wisehub.lineage.inputs import Calibration, Each, Need, Select, TargetError
from wisehub.lineage.product import ProductView
from wisehub.lineage.store import LineageStore

# A target class, as planning and building see it (the Target base class sits above them).
TargetClass = Any

TO_BUILD = "to be built"
OUTDATED = "outdated"
UP_TO_DATE = "up to date"


@dataclass(eq=False)
class PlanNode:
    """One target in a plan: its status, why, the existing product and the inputs.

    ``inputs`` maps roles to selected products (leaves) or child :class:`PlanNode` s.
    """

    target: TargetClass
    keys: dict[str, Any]
    params: dict[str, Any]
    target_key: str
    code_version: str
    status: str = TO_BUILD
    reasons: list[str] = field(default_factory=list)
    product: ProductView | None = None
    inputs: dict[str, list[PlanNode | ProductView]] = field(default_factory=dict)
    covers: dict[str, float] = field(default_factory=dict)
    force: bool = False

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}={v!r}" for k, v in self.keys.items())
        return f"<PlanNode {self.target.type_name}({keys}): {self.status}>"

    def children(self) -> list[PlanNode]:
        """The input nodes that are targets themselves."""
        return [x for items in self.inputs.values() for x in items if isinstance(x, PlanNode)]

    def walk(self) -> Iterator[PlanNode]:
        """Every node once, inputs before the nodes that use them."""
        seen: set[int] = set()

        def visit(node: PlanNode) -> Iterator[PlanNode]:
            if id(node) in seen:
                return
            seen.add(id(node))
            for child in node.children():
                yield from visit(child)
            yield node

        yield from visit(self)

    def to_build(self) -> list[PlanNode]:
        """The nodes that will be made, inputs first."""
        return [n for n in self.walk() if n.status != UP_TO_DATE]

    def count(self) -> int:
        """Nodes in the tree, counting each selected product once."""
        leaves = {x.pid for n in self.walk() for items in n.inputs.values() for x in items
                  if isinstance(x, ProductView)}
        return len(list(self.walk())) + len(leaves)

    def __str__(self) -> str:
        return "\n".join(self._lines("", ""))

    def _lines(self, head: str, indent: str) -> list[str]:
        keys = ", ".join(f"{k}={v}" for k, v in self.keys.items())
        why = f": {'; '.join(self.reasons)}" if self.reasons else ""
        lines = [f"{head}{self.target.type_name}({keys}) [{self.status}{why}]"]
        items = list(self.inputs.items())
        for i, (role, values) in enumerate(items):
            last = i == len(items) - 1
            branch, more = ("└── ", "    ") if last else ("├── ", "│   ")
            nodes = [v for v in values if isinstance(v, PlanNode)]
            leaves = [v for v in values if isinstance(v, ProductView)]
            if leaves:
                what = leaves[0].name if len(leaves) == 1 else f"{len(leaves)} × {leaves[0].type}"
                lines.append(f"{indent}{branch}{role}: {what} [selected]")
            for node in nodes:
                lines.extend(node._lines(f"{indent}{branch}{role}: ", indent + more))
        return lines


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def differences(store: LineageStore, product: ProductView, code: Any,
                params: dict[str, Any], inputs: dict[str, set[str] | None]) -> list[str]:
    """Why ``product`` is stale against the current code, parameters and inputs ([] if not).

    ``code`` is the target's :class:`~wisehub.lineage.code.CodeVersion`; ``inputs`` maps
    roles to the product ids now selected, or None for inputs to be remade.
    """
    reasons = []
    if product.is_valid == 0:
        reasons.append("marked bad (is_valid=0)")
    if product.data_uri and product.data_deleted_at is not None:
        reasons.append("its data was deleted")
    process, used = store.provenance(product.pid)
    if process.get("code_version") != code.version:
        before = (process.get("environment") or {}).get("code") or {}
        which = changed_parts(before, code.parts) if before and code.parts else []
        detail = f": {', '.join(which)} changed" if which else ""
        reasons.append(f"code version changed ({process.get('code_version')} → "
                       f"{code.version}{detail})")
    if _canonical(process.get("parameters", {})) != _canonical(params):
        reasons.append("parameters changed")
    for role in sorted(set(inputs) | set(used)):
        now = inputs.get(role, set())
        before = {pid for pid, _ in used.get(role, [])}
        if now is None:
            reasons.append(f"input {role} will be remade")
        elif now != before:
            reasons.append(f"input {role} now selects other products")
        elif any(valid == 0 for _, valid in used.get(role, [])):
            reasons.append(f"input {role} was invalidated")
    return reasons


class _Pending:
    """Stands in for an input product that is still to be made while planning."""

    def __init__(self, node: PlanNode) -> None:
        self._node = node

    def __getattr__(self, name: str) -> Any:
        raise TargetError(f"{self._node!r} is still to be made, so its attribute {name!r} is "
                          "unknown while planning; compute keys from raw inputs instead")


def _usable(node: PlanNode, role: str, parent: str) -> None:
    product = node.product
    if node.status == UP_TO_DATE and product is not None and product.quality_flags:
        raise TargetError(
            f"{parent} needs {role} {product.type} {product.name} ({product.pid}), which failed "
            f"QC (quality_flags={product.quality_flags:#x}); processing stops here. Fix its "
            "inputs, or mark it bad (`wisehub lineage invalidate`) to have it remade"
        )


class Planner:
    """Builds the plan tree for a request, reusing nodes shared by several parents."""

    def __init__(self, store: LineageStore, use: dict[str, Any] | None = None) -> None:
        self.store = store
        self.use = {k: getattr(v, "pid", v) for k, v in (use or {}).items()}
        self._memo: dict[tuple[str, ...], PlanNode] = {}
        self._stack: list[str] = []
        self._names: list[str] = []

    def plan(self, cls: TargetClass, keys: dict[str, Any], params: dict[str, Any] | None = None,
             *, force: bool = False, existing: ProductView | None = None) -> PlanNode:
        """Plan one target (and, recursively, its inputs)."""
        root = not self._stack
        keys, params = cls.split({**keys, **(params or {})})
        target_key = cls.key_of(keys)
        label = repr(cls(keys, params))
        if target_key in self._stack:
            chain = " → ".join([*self._names[self._stack.index(target_key):], label])
            raise TargetError(f"cycle in target inputs: {chain}; a target cannot depend on itself")
        # One node per target key and parameters in a plan, however it was reached (Need,
        # Calibration, Each), so every user of a calibration uses the same product.
        memo_key = (target_key, _canonical(params), str(force))
        if memo_key in self._memo:
            return self._memo[memo_key]
        self._stack.append(target_key)
        self._names.append(label)
        try:
            node = self._plan(cls, keys, params, target_key, force, existing, root)
        finally:
            self._stack.pop()
            self._names.pop()
        self._memo[memo_key] = node
        return node

    def _plan(self, cls: TargetClass, keys: dict[str, Any], params: dict[str, Any],
              target_key: str, force: bool, existing: ProductView | None,
              root: bool) -> PlanNode:
        node = PlanNode(cls, keys, params, target_key, cls.code_version(), force=force)
        if not cls.buildable:
            found = existing or self._registered(cls, keys)
            node.status, node.product = UP_TO_DATE, found
            return node
        target = cls(keys, params)
        for role, spec in cls.inputs.items():
            if root and role in self.use:
                chosen = self.store.product(self.use[role])
                node.inputs[role] = [chosen]
                setattr(target, role, chosen)
            elif isinstance(spec, Select):
                self._select(node, target, role, spec)
            elif isinstance(spec, Need):
                child = self.plan(spec.target_class(), spec.keys(target))
                _usable(child, role, repr(target))
                self._attach(node, target, role, child)
            elif isinstance(spec, Calibration):
                self._calibration(node, target, role, spec)
            elif isinstance(spec, Each):
                self._each(node, target, role, spec)
        node.product = existing or self.store.latest(target_key)
        if node.product is None:
            return node
        now = {role: (None if any(isinstance(x, PlanNode) and x.status != UP_TO_DATE
                                  for x in items)
                      else {x.pid if isinstance(x, ProductView) else x.product.pid  # type: ignore[union-attr]
                            for x in items})
               for role, items in node.inputs.items()}
        node.reasons = differences(self.store, node.product, cls.code(), params, now)
        if force:
            node.reasons.insert(0, "forced")
        node.status = OUTDATED if node.reasons else UP_TO_DATE
        return node

    def _registered(self, cls: TargetClass, keys: dict[str, Any]) -> ProductView:
        conditions = (*conditions_from(**keys), Condition("is_valid", ">=", 1))
        found = self.store.select(cls.type_name, conditions, limit=2)
        if not found:
            wanted = ", ".join(f"{k}={v!r}" for k, v in keys.items())
            raise TargetError(f"no {cls.type_name} with {wanted} is registered and readable; "
                              "ingest the raw data first (`wisehub ingest`)")
        return found[0]

    def _attach(self, node: PlanNode, target: Any, role: str, child: PlanNode) -> None:
        node.inputs[role] = [child]
        ready = child.status == UP_TO_DATE and child.product is not None
        setattr(target, role, child.product if ready else _Pending(child))

    def _select(self, node: PlanNode, target: Any, role: str, spec: Select) -> None:
        where = spec.where(target)
        conditions = (*conditions_from(**where), Condition("is_valid", ">=", 1))
        found = self.store.select(spec.type_name, conditions)
        described = ", ".join(f"{k}={v!r}" for k, v in where.items())
        if len(found) < spec.min_count:
            raise TargetError(
                f"{target!r} input {role!r}: the query {spec.type_name}({described}) selects "
                f"{len(found)} valid product(s), needs at least {spec.min_count}; ingest or "
                "register them, or check the keys"
            )
        if not spec.many:
            if len(found) > 1 and not spec.newest:
                raise TargetError(
                    f"{target!r} input {role!r}: the query {spec.type_name}({described}) is "
                    f"ambiguous, {len(found)} candidates ({', '.join(p.pid for p in found[:5])})"
                    "; narrow the query, declare newest=True, or pass use={role: id}"
                )
            found = found[:1]
        node.inputs[role] = list(found)
        setattr(target, role, found if spec.many else found[0])

    def _each(self, node: PlanNode, target: Any, role: str, spec: Each) -> None:
        where = spec.where(target)
        conditions = (*conditions_from(**where), Condition("is_valid", ">=", 1))
        sources = self.store.select(spec.source, conditions)
        if len(sources) < spec.min_count:
            described = ", ".join(f"{k}={v!r}" for k, v in where.items())
            raise TargetError(f"{target!r} input {role!r}: the query {spec.source}({described}) "
                              f"selects {len(sources)} valid product(s), needs at least "
                              f"{spec.min_count}")
        children = [self.plan(spec.target_class(), spec.keys(p)) for p in reversed(sources)]
        for child in children:
            _usable(child, role, repr(target))
        node.inputs[role] = list(children)
        setattr(target, role, [c.product if c.status == UP_TO_DATE else _Pending(c)
                               for c in children])

    def _calibration(self, node: PlanNode, target: Any, role: str,
                     spec: Calibration) -> None:
        at, match = float(spec.at(target)), spec.match(target)
        chosen = self.store.calibration(spec.type_name, conditions_from(**match), at)
        if chosen is not None:
            process, _ = self.store.provenance(chosen.pid)
            cls = spec.target_class()
            if chosen.target_key and "target_keys" in process and cls.buildable:
                child = self.plan(cls, process["target_keys"], existing=chosen)
                _usable(child, role, repr(target))
                self._attach(node, target, role, child)
            else:
                node.inputs[role] = [chosen]
                setattr(target, role, chosen)
            return
        if spec.build is None:
            described = ", ".join(f"{k}={v!r}" for k, v in match.items())
            raise TargetError(f"{target!r} input {role!r}: no valid {spec.type_name} "
                              f"({described}) covers MJD {at}; make or register one")
        child = self.plan(spec.target_class(), spec.build(target))
        _usable(child, role, repr(target))
        node.covers[role] = at
        self._attach(node, target, role, child)
