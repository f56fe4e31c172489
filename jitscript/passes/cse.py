"""Common-subexpression elimination: a pure node equal to an earlier visible one is dropped and its
outputs replaced by the earlier node's (same op, same inputs, same attributes, no blocks)."""
from __future__ import annotations

from ..ir import Block, Graph, Node, replace_uses
from .dce import is_pure


def _key(node: Node):
    """A hashable identity for `node`'s computation, or None when it must not be merged."""
    if node.blocks or not is_pure(node):
        return None
    try:
        attrs = tuple(sorted((k, _hashable(v)) for k, v in node.attrs.items()))
        return (node.op, tuple(node.inputs), attrs, tuple(v.type for v in node.outputs))
    except TypeError:
        return None


def _hashable(value):
    if isinstance(value, list):
        return ("list", tuple(_hashable(v) for v in value))
    if isinstance(value, tuple):
        return ("tuple", tuple(_hashable(v) for v in value))
    if isinstance(value, float) and value != value:
        return ("nan",)
    hash(value)
    return (type(value).__name__, value)


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """Merge repeated pure computations (a node in a nested block may reuse one outside it)."""
    _block(graph.block, {}, graph.block)
    return graph


def _block(block: Block, seen: dict, root: Block) -> None:
    seen = dict(seen)  # what this block defines is not visible to its parent or siblings
    kept = []
    for node in block.nodes:
        key = _key(node)
        earlier = seen.get(key) if key is not None else None
        if earlier is not None:
            replace_uses(root, dict(zip(node.outputs, earlier.outputs)))
            continue
        for b in node.blocks:
            _block(b, seen, root)
        if key is not None:
            seen[key] = node
        kept.append(node)
    block.nodes = kept
