"""Dead-code elimination: drop side-effect-free nodes whose outputs nobody uses."""
from __future__ import annotations

from ..ir import Block, Graph, Node, uses
from ..prims import PRIMS


def is_pure(node: Node) -> bool:
    """True when running `node` has no effect besides its outputs (nested blocks included)."""
    prim = PRIMS.get(node.op)
    if prim is not None and not prim.pure:
        return False
    return all(is_pure(inner) for b in node.blocks for inner in b.nodes)


def eliminate_dead_code(graph: Graph) -> Graph:
    """Remove unused pure nodes (in nested blocks too), repeating until nothing changes, and the
    entries of `graph.params` no `prim::param` reads any more."""
    while _sweep(graph.block, uses(graph.block)):
        pass
    read = {n.attrs["name"] for n in graph.nodes() if n.op == "prim::param"}
    graph.params = {k: v for k, v in graph.params.items() if k in read}
    return graph


def _sweep(block: Block, counts: dict) -> bool:
    changed = False
    kept = []
    for node in reversed(block.nodes):
        if is_pure(node) and not any(counts.get(v, 0) for v in node.outputs):
            for v in node.inputs:
                counts[v] -= 1
            changed = True
            continue
        for b in node.blocks:
            changed |= _sweep(b, counts)
        kept.append(node)
    block.nodes = kept[::-1]
    return changed
