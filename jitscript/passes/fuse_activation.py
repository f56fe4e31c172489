"""Activation fusion: a relu/gelu/silu/sigmoid/tanh that is the only reader of a `linear`,
`matmul` or `conv2d` output folds into that node as its `activation` attribute (TFLite's fused
activation function). The producer then applies it to its result while the result is still in
cache - in the C runtime one node and one pass over memory fewer, and the intermediate tensor
is never planned. The names and semantics are eager's FUSED_ACTIVATIONS table.
"""
from __future__ import annotations

from eager.ops.elementwise import FUSED_ACTIVATIONS

from ..ir import Block, Graph, InputAttr, Node, Value, replace_uses, uses

PRODUCERS = ("linear", "matmul", "conv2d")


def activation_name(node: Node) -> str | None:
    """The FUSED_ACTIVATIONS name `node` computes, or None when it is not a fusible activation."""
    if any(isinstance(a, InputAttr) for a in node.attrs.values()):
        return None
    name = node.op
    if node.op == "gelu" and node.attrs.get("approximate", "none") == "tanh":
        name = "gelu_tanh"
    row = FUSED_ACTIVATIONS.get(name)
    return name if row is not None and row[0].name == node.op else None


def fuse_activations(graph: Graph) -> Graph:
    """Fold every fusible activation into its producer (nested blocks too)."""
    _fuse_block(graph.block, uses(graph.block), graph.block)
    return graph


def _fuse_block(block: Block, counts: dict[Value, int], root: Block) -> None:
    producers: dict[Value, Node] = {}
    kept = []
    for node in block.nodes:
        for b in node.blocks:
            _fuse_block(b, counts, root)
        name = activation_name(node)
        producer = producers.get(node.inputs[0]) if name and node.inputs else None
        if producer is not None and counts.get(node.inputs[0], 0) == 1:
            del producers[node.inputs[0]]  # one activation each: its next reader now reads the activated value
            producer.attrs["activation"] = name
            replace_uses(root, {node.outputs[0]: node.inputs[0]})
            continue
        if node.op in PRODUCERS and node.attrs.get("activation", "none") == "none":
            producers[node.outputs[0]] = node
        kept.append(node)
    block.nodes = kept
