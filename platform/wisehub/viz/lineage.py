"""The lineage graph: products and the processes that made them, coloured by QC state.

Layout is by generation (raw data on the left, the product on the right), so a reduction
reads left to right like its recipe.

>>> from types import SimpleNamespace as P
>>> raw = P(pid="r", type="RawFrame", name="r1", is_valid=1, quality_flags=0, process_pid=None)
>>> bias = P(pid="b", type="MasterBias", name="b1", is_valid=1, quality_flags=0,
...          process_pid="p")
>>> lin = P(root=bias, upstream=[raw], downstream=[], edges=[("b", "raws", "r")],
...         processes={"p": {"recipe": "combine"}})
>>> nodes, edges = lineage_tables(lin)
>>> list(nodes["state"]), list(zip(edges["source"], edges["target"]))
(['ok', 'ok', 'process'], [('r', 'p'), ('p', 'b')])
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import pandas as pd

from wisehub.viz._backends import styled

QC_COLOURS = {
    "ok": "#2ca02c",
    "qualified": "#ffbf00",
    "flagged": "#ff7f0e",
    "bad": "#d62728",
    "process": "#7f7f7f",
}


def qc_state(product: Any) -> str:
    """``bad`` (is_valid 0), ``flagged`` (quality_flags), ``qualified`` (is_valid 2) or ``ok``.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> [qc_state(P(is_valid=v, quality_flags=f)) for v, f in [(1, 0), (1, 4), (2, 0), (0, 0)]]
    ['ok', 'flagged', 'qualified', 'bad']
    """
    if product.is_valid == 0:
        return "bad"
    if product.quality_flags:
        return "flagged"
    return "qualified" if product.is_valid == 2 else "ok"


def lineage_tables(lin: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes (id, label, kind, state, x, y) and edges (source, target, role) of a lineage.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> raw = P(pid="r", type="RawFrame", name="r1", is_valid=1, quality_flags=0, process_pid=None)
    >>> flat = P(pid="f", type="MasterFlat", name="f1", is_valid=1, quality_flags=2,
    ...          process_pid="p")
    >>> lin = P(root=flat, upstream=[raw], downstream=[], edges=[("f", "raws", "r")],
    ...         processes={"p": {"recipe": "master_flat"}})
    >>> nodes, edges = lineage_tables(lin)
    >>> dict(zip(nodes["id"], nodes["x"])), list(edges["role"])
    ({'f': 2, 'r': 0, 'p': 1}, ['raws', 'generated'])
    """
    products = {p.pid: p for p in [lin.root, *lin.upstream, *lin.downstream]}
    rows = [(p.pid, f"{p.type}\n{p.name}", "product", qc_state(p)) for p in products.values()]
    rows += [(pid, proc.get("recipe", "process"), "process", "process")
             for pid, proc in lin.processes.items()]
    edges = [(parent, products[pid].process_pid, role) for pid, role, parent in lin.edges
             if pid in products and parent in products]
    edges += [(p.process_pid, p.pid, "generated") for p in products.values()
              if p.process_pid in lin.processes]
    edges = list(dict.fromkeys(edges))
    nodes = pd.DataFrame(rows, columns=["id", "label", "kind", "state"]).drop_duplicates("id")
    nodes["x"] = nodes["id"].map(_generations(nodes["id"], edges))
    nodes["y"] = nodes.groupby("x").cumcount() - nodes.groupby("x")["id"].transform("size") / 2
    return nodes.reset_index(drop=True), pd.DataFrame(edges, columns=["source", "target", "role"])


def _generations(ids: pd.Series, edges: list[tuple[str, str, str]]) -> dict[str, int]:
    """The longest path from a source to each node (a DAG's layering)."""
    depth = dict.fromkeys(ids, 0)
    for _ in range(len(depth)):
        changed = False
        for source, target, _role in edges:
            if depth.get(target, 0) < depth.get(source, 0) + 1:
                depth[target] = depth[source] + 1
                changed = True
        if not changed:
            break
    return depth


def lineage_graph(lin: Any, *, title: str = "", width: int = 800, height: int = 400) -> hv.Overlay:
    """Draw a lineage (from ``product.lineage()``) as a graph coloured by QC state.

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> raw = P(pid="r", type="RawFrame", name="r1", is_valid=1, quality_flags=0, process_pid=None)
    >>> lin = P(root=raw, upstream=[], downstream=[], edges=[], processes={})
    >>> [type(layer).__name__ for layer in lineage_graph(lin)]
    ['Graph', 'Labels']
    """
    nodes, edges = lineage_tables(lin)
    nodes["colour"] = nodes["state"].map(QC_COLOURS)
    points = hv.Nodes(nodes, kdims=["x", "y", "id"], vdims=["label", "kind", "state", "colour"])
    graph = hv.Graph((edges, points), kdims=["source", "target"], vdims=["role"])
    graph = styled(
        graph,
        common={"node_color": "colour", "node_size": 14, "directed": True, "arrowhead_length": 0.02,
                "xaxis": None, "yaxis": None, "title": title or f"Lineage of {lin.root.name}"},
        bokeh={"width": width, "height": height, "tools": ["hover"], "edge_line_color": "#999"},
        matplotlib={"edge_color": "#999"},
    )
    labels = styled(hv.Labels(nodes, kdims=["x", "y"], vdims=["label"]),
                    common={"yoffset": -0.3, "padding": 0.3},
                    bokeh={"text_font_size": "8pt"}, matplotlib={"size": 7})
    return graph * labels
