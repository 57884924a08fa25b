"""Lineage queries both ways, and W3C PROV export (PROV-JSON, PROV-N) with the ``prov`` package.

Upstream follows *generated-by* then *used* edges down to raw data; downstream follows them
the other way, to everything that depends on a product. Both are recursive SQL (CTEs, built
here) that the store runs in its context (``store.lineage(pid)``, ``store.tainted()``), so
they only ever return products that context may read.

>>> from wisehub.lineage import Context, LineageStore
>>> from wisehub.lineage.store import ProcessRecord
>>> store = LineageStore("sqlite://", Context("ada"))
>>> raw = store.register("Raw", name="r1")
>>> bias = store.register("Bias", name="b1", used={"raws": [raw.pid]},
...                       process=ProcessRecord(recipe="demo", code_version="1"))
>>> [p.name for p in store.lineage(bias.pid).upstream]
['r1']
>>> print(store.lineage(bias.pid).tree())
Bias b1
└── raws: Raw r1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from wisehub.lineage.models import Product, Used
from wisehub.lineage.product import ProductView

if TYPE_CHECKING:
    import prov.model as pm

NAMESPACE = ("wisehub", "urn:wisehub:")
UUID_NS = ("uuid", "urn:uuid:")


def upstream_seqs(start: int) -> Any:
    """A recursive CTE of the ``seq`` of a product and everything it was made from."""
    up = select(Product.seq.label("seq")).where(Product.seq == start).cte("up", recursive=True)
    step = (select(Used.product_seq)
            .join(Product, Product.process_seq == Used.process_seq)
            .join(up, up.c.seq == Product.seq))
    return up.union(step)


def downstream_seqs(starts: Any) -> Any:
    """A recursive CTE of the ``seq`` of products and everything made from them."""
    down = select(Product.seq.label("seq")).where(Product.seq.in_(starts)).cte(
        "down", recursive=True)
    step = (select(Product.seq)
            .join(Used, Used.process_seq == Product.process_seq)
            .join(down, down.c.seq == Used.product_seq))
    return down.union(step)


@dataclass
class Lineage:
    """A product, what it was made from (down to raw data) and what depends on it."""

    root: ProductView
    upstream: list[ProductView]
    downstream: list[ProductView]
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"<Lineage of {self.root.type} {self.root.name}: {len(self.upstream)} upstream, "
                f"{len(self.downstream)} downstream>")

    @property
    def raw(self) -> list[ProductView]:
        """The upstream products nothing made: the raw data at the bottom."""
        return [p for p in self.upstream if p.process_pid is None]

    @property
    def invalid_upstream(self) -> list[ProductView]:
        """Upstream products a person marked bad: the root is stale because of them."""
        return [p for p in self.upstream if p.is_valid == 0]

    def _by_pid(self) -> dict[str, ProductView]:
        return {p.pid: p for p in [self.root, *self.upstream, *self.downstream]}

    def tree(self) -> str:
        """The upstream tree as indented text (shared inputs are shown where used)."""
        products = self._by_pid()
        used: dict[str, list[tuple[str, str]]] = {}
        for pid, role, parent in self.edges:
            used.setdefault(pid, []).append((role, parent))

        def lines(pid: str, head: str, indent: str, seen: frozenset[str]) -> list[str]:
            product = products[pid]
            out = [f"{head}{product.type} {product.name}"]
            children = sorted(used.get(pid, []))
            for i, (role, child) in enumerate(children):
                last = i == len(children) - 1
                branch, more = ("└── ", "    ") if last else ("├── ", "│   ")
                if child in seen:
                    continue
                out += lines(child, f"{indent}{branch}{role}: ", indent + more, seen | {child})
            return out

        return "\n".join(lines(self.root.pid, "", "", frozenset({self.root.pid})))

    def to_prov(self) -> pm.ProvDocument:
        """The lineage as a W3C PROV document (entities, activities, agents, relations)."""
        import prov.model as pm  # loaded when provenance is asked for, not with the store

        doc = pm.ProvDocument()
        doc.add_namespace(*NAMESPACE)
        doc.add_namespace(*UUID_NS)
        products = self._by_pid()
        for p in products.values():
            attrs: dict[str, Any] = {
                "prov:type": f"wisehub:{p.type}", "prov:label": p.name,
                "wisehub:privilege": p.privilege, "wisehub:is_valid": p.is_valid,
                "wisehub:quality_flags": p.quality_flags,
                "wisehub:created_at": p.created_at.isoformat(),
            }
            if p.data_uri:
                attrs["prov:location"] = p.data_uri
            if p.checksum:
                attrs["wisehub:checksum"] = p.checksum
            if p.data_deleted_at:
                attrs["wisehub:data_deleted_at"] = p.data_deleted_at.isoformat()
            doc.entity(f"uuid:{p.pid}", attrs)
            doc.agent(f"wisehub:user/{p.owner}")
            doc.wasAttributedTo(f"uuid:{p.pid}", f"wisehub:user/{p.owner}")
        for ppid, proc in self.processes.items():
            doc.activity(f"uuid:{ppid}", proc["started_at"], proc["ended_at"], {
                "prov:type": "wisehub:Process", "wisehub:recipe": proc["recipe"],
                "wisehub:code_version": proc["code_version"], "wisehub:host": proc["host"],
                "wisehub:parameters": _json(proc["parameters"]),
            })
            doc.wasAssociatedWith(f"uuid:{ppid}", f"wisehub:user/{proc['user']}")
            doc.agent(f"wisehub:user/{proc['user']}")
        for p in products.values():
            if p.process_pid in self.processes:
                doc.wasGeneratedBy(f"uuid:{p.pid}", f"uuid:{p.process_pid}")
        for pid, role, parent in self.edges:
            activity = f"uuid:{products[pid].process_pid}"
            doc.used(activity, f"uuid:{parent}", other_attributes={"prov:role": role})
            doc.wasDerivedFrom(f"uuid:{pid}", f"uuid:{parent}", activity)
        return doc

    def prov_json(self) -> str:
        """PROV-JSON text."""
        return self.to_prov().serialize(format="json")

    def prov_n(self) -> str:
        """PROV-N text."""
        return self.to_prov().get_provn()


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)
