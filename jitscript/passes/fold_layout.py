"""Layout folding: a `permute` that feeds a `matmul` operand, or that is the only reader of a
matmul's result, folds into the matmul as its `a_perm` / `b_perm` / `out_perm` attribute. The C
kernel reads permuted operands and writes a permuted result through GEMM strides (gemm.h), so the
copies that split attention into heads and merge the heads back (`permute` before Q K^T and A V,
after A V) are never made. A `getitem` (ints and slices) that is a permute's only reader indexes
the permute's input instead when the dims it keeps stay in order, so no permuted copy is made
(a batch-first LSTM's `out[:, -1]`: the last step, not the whole sequence transposed). The
permutes left without readers are removed.
"""
from __future__ import annotations

from ..ir import Block, Graph, InputAttr, Node, Value, replace_uses, uses
from ..types import TensorType
from .dce import eliminate_dead_code

OPERANDS = ((0, "a_perm"), (1, "b_perm"))
FULL = ("slice", None, None, None)


def fold_layout(graph: Graph) -> Graph:
    """Fold permutes into the matmuls around them (nested blocks too)."""
    _fold_block(graph.block, uses(graph.block), graph.block)
    return eliminate_dead_code(graph)


def _static_dims(node: Node) -> tuple | None:
    """A permute's `dims` when they are a constant attribute, else None."""
    dims = node.attrs.get("dims")
    return None if node.op != "permute" or isinstance(dims, InputAttr) else tuple(dims)


def _rank(value: Value) -> int | None:
    t = value.type
    return len(t.shape) if isinstance(t, TensorType) and t.shape is not None else None


def _fold_block(block: Block, counts: dict[Value, int], root: Block) -> None:
    permutes: dict[Value, Node] = {}
    matmuls: dict[Value, Node] = {}
    kept = []
    for node in block.nodes:
        for b in node.blocks:
            _fold_block(b, counts, root)
        if node.op == "matmul":
            _fold_operands(node, permutes)
            matmuls[node.outputs[0]] = node
        if node.op == "getitem":
            _index_before_permute(node, permutes, counts)
        producer = matmuls.get(node.inputs[0]) if _static_dims(node) is not None else None
        if producer is not None and _folds_result(producer, node, counts):
            producer.attrs["out_perm"] = _static_dims(node)
            producer.outputs[0].type = node.outputs[0].type
            replace_uses(root, {node.outputs[0]: producer.outputs[0]})
            continue
        if _static_dims(node) is not None:
            permutes[node.outputs[0]] = node
        kept.append(node)
    block.nodes = kept


def _fold_operands(node: Node, permutes: dict[Value, Node]) -> None:
    """Read each operand that is a permute's output from the permute's input instead."""
    for index, name in OPERANDS:
        permute = permutes.get(node.inputs[index])
        if permute is not None and node.attrs.get(name) is None:
            node.attrs[name] = _static_dims(permute)
            node.inputs[index] = permute.inputs[0]


def _index_before_permute(node: Node, permutes: dict[Value, Node], counts: dict[Value, int]) -> None:
    """Index the permute's input with the getitem's terms moved to their dims, when the getitem is
    the permute's only reader, has only int and slice terms, and keeps its dims in input order (so
    the result is the same tensor, its type unchanged)."""
    permute, items = permutes.get(node.inputs[0]), node.attrs.get("items")
    if (permute is None or counts.get(node.inputs[0], 0) != 1 or len(node.inputs) != 1
            or isinstance(items, InputAttr) or any(term[0] not in ("select", "slice") for term in items)):
        return
    dims = _static_dims(permute)
    terms = tuple(items) + (FULL,) * (len(dims) - len(items))
    kept = [dims[d] for d, term in enumerate(terms) if term[0] == "slice"]
    if kept != sorted(kept):
        return
    moved = [FULL] * len(dims)
    for d, term in enumerate(terms):
        moved[dims[d]] = tuple(term)
    while moved and moved[-1] == FULL:  # trailing full slices are dropped, as indexing normalizes
        moved.pop()
    node.attrs["items"] = tuple(moved)
    node.inputs[0] = permute.inputs[0]


def _folds_result(producer: Node, permute: Node, counts: dict[Value, int]) -> bool:
    """The permute is the product's only reader, it keeps the last dim in place (the GEMM writes
    rows of contiguous columns) and both operands are matrices (the result has both matrix dims)."""
    dims = _static_dims(permute)
    return (counts.get(producer.outputs[0], 0) == 1 and producer.attrs.get("out_perm") is None
            and dims[-1] == len(dims) - 1
            and all((_rank(v) or 0) >= 2 for v in producer.inputs))
