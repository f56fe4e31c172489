"""Elementwise fusion: runs of adjacent elementwise registry ops (`OpDef.elementwise`) become one
`prim::fused` node whose block is the elementwise sub-graph; the interpreter runs the block, the C
runtime runs it as one loop without materializing the intermediate tensors.

Constants and parameters are hoisted to the top of each block first, so a scalar between two
elementwise ops does not split their group.
"""
from __future__ import annotations

from eager.ops.registry import REGISTRY

from ..ir import Block, Graph, InputAttr, Node, Value, uses

_HOISTABLE = ("prim::constant", "prim::param")


def is_fusible(node: Node) -> bool:
    """An elementwise registry op with static attributes."""
    op = REGISTRY.get(node.op)
    return op is not None and op.elementwise and not any(isinstance(a, InputAttr) for a in node.attrs.values())


def fuse_elementwise(graph: Graph, min_size: int = 2) -> Graph:
    """Group runs of at least `min_size` fusible nodes into `prim::fused` nodes (nested blocks too)."""
    _fuse_block(graph.block, graph, min_size)
    return graph


def _hoist_constants(block: Block) -> None:
    hoisted, rest, lifted = [], [], set()
    for node in block.nodes:
        if node.op in _HOISTABLE or (node.op == "prim::scalar_tensor" and node.inputs[0] in lifted):
            hoisted.append(node)
            lifted.update(node.outputs)
        else:
            rest.append(node)
    block.nodes = hoisted + rest


def _fuse_block(block: Block, graph: Graph, min_size: int) -> None:
    _hoist_constants(block)
    for node in block.nodes:
        for b in node.blocks:
            if node.op != "prim::fused":
                _fuse_block(b, graph, min_size)
    counts = uses(graph.block)
    out, run = [], []
    for node in block.nodes + [None]:
        if node is not None and is_fusible(node):
            run.append(node)
            continue
        if len(run) >= min_size:
            out.append(_make_group(run, counts))
        else:
            out.extend(run)
        run = []
        if node is not None:
            out.append(node)
    block.nodes = []
    for node in out:
        block.append(node)


def _make_group(run: list[Node], counts: dict[Value, int]) -> Node:
    """One `prim::fused` node computing `run`; its outputs are the run's values used after it."""
    defined = {v for n in run for v in n.outputs}
    inputs: list[Value] = []
    for n in run:
        inputs.extend(v for v in n.inputs if v not in defined and v not in inputs)
    inner_uses: dict[Value, int] = {}
    for n in run:
        for v in n.inputs:
            inner_uses[v] = inner_uses.get(v, 0) + 1
    outputs = [v for n in run for v in n.outputs if counts.get(v, 0) > inner_uses.get(v, 0)]
    body = Block([Value(v.type, v.name) for v in inputs])
    mapping = dict(zip(inputs, body.params))
    for n in run:
        new = body.add_node(n.op, [mapping[v] for v in n.inputs], n.attrs, [v.type for v in n.outputs], n.loc,
                            names=[v.name for v in n.outputs])
        mapping.update(zip(n.outputs, new.outputs))
    body.returns = [mapping[v] for v in outputs]
    return Node("prim::fused", inputs, outputs, {}, [body], run[0].loc)

