"""Inlining: each `prim::call` (a call of a scripted function or submodule, its body held as the
node's block) is replaced by the body's nodes, with the body's params bound to the call's inputs."""
from __future__ import annotations

from ..ir import Block, Graph, clone_block, replace_uses


def inline_calls(graph: Graph) -> Graph:
    """Splice every `prim::call` body into its caller (nested calls and calls in blocks too)."""
    _inline_block(graph.block, graph)
    return graph


def _inline_block(block: Block, graph: Graph) -> None:
    nodes = []
    for node in block.nodes:
        for b in node.blocks:
            _inline_block(b, graph)
        if node.op != "prim::call":
            nodes.append(node)
            continue
        body = clone_block(node.blocks[0], {})
        replace_uses(body, dict(zip(body.params, node.inputs)))
        nodes.extend(body.nodes)
        replace_uses(graph.block, dict(zip(node.outputs, body.returns)))
    block.nodes = []
    for node in nodes:
        block.append(node)
