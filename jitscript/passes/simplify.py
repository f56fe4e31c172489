"""Algebraic simplification of tensor ops and `prim::` scalar arithmetic: x*1, x+0, x-0, x/1,
x//1, -(-x), transpose of transpose, reshape chains, no-op reshapes/expands/casts. A rewrite
applies only where the result's type (dtype and shape) is the replaced value's, so broadcasting
by the constant is never lost."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..interpreter import as_array
from ..ir import Graph, InputAttr, Node, Value, replace_uses
from ..types import FloatType, IntType, TensorType
from .dce import eliminate_dead_code


def constant_scalar(graph: Graph, v: Value):
    """The number every element of tensor `v` holds, when known now (a scalar constant, or a
    parameter whose elements are all equal); else None."""
    node = v.node
    if node is None:
        return None
    if node.op == "prim::constant":
        value = node.attrs["value"]
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if node.op == "prim::scalar_tensor" and node.inputs[0].node is not None \
            and node.inputs[0].node.op == "prim::constant":
        value = node.inputs[0].node.attrs["value"]
        return value if isinstance(value, (int, float)) else None
    if node.op == "prim::param" and node.attrs["name"] in graph.params:
        data = as_array(graph.params[node.attrs["name"]])
        if data.size and data.size <= 4096 and np.all(data == data.flat[0]):
            return data.flat[0].item()
    return None


def _same_type(a: Value, b: Value) -> bool:
    if isinstance(a.type, (IntType, FloatType)):
        return a.type == b.type
    return isinstance(a.type, TensorType) and a.type == b.type and a.type.shape is not None \
        and "?" not in a.type.shape


def _identity_operand(graph: Graph, node: Node, neutral: float, commutative: bool) -> Value | None:
    x, c = node.inputs
    if constant_scalar(graph, c) == neutral and _same_type(x, node.output):
        return x
    if commutative and constant_scalar(graph, x) == neutral and _same_type(c, node.output):
        return c
    return None


def _producer(v: Value, op: str) -> Node | None:
    return v.node if v.node is not None and v.node.op == op else None


def _neg(graph: Graph, node: Node) -> Value | None:
    inner = _producer(node.inputs[0], "neg")
    return inner.inputs[0] if inner is not None else None


def _permute(graph: Graph, node: Node) -> Value | None:
    dims = node.attrs["dims"]
    if list(dims) == list(range(len(dims))):
        return node.inputs[0]
    inner = _producer(node.inputs[0], "permute")
    if inner is None:
        return None
    composed = tuple(inner.attrs["dims"][d] for d in dims)
    if list(composed) == list(range(len(composed))):
        return inner.inputs[0]
    node.inputs = [inner.inputs[0]]
    node.attrs = {"dims": composed}
    return None


def _reshape(graph: Graph, node: Node) -> Value | None:
    x = node.inputs[0]
    if _same_type(x, node.output):
        return x
    inner = _producer(x, "reshape")
    if inner is not None:  # reshape(reshape(y, a), b) == reshape(y, b)
        node.inputs = [inner.inputs[0]] + node.inputs[1:]
    return None


def _no_op_if_same_type(graph: Graph, node: Node) -> Value | None:
    return node.inputs[0] if _same_type(node.inputs[0], node.output) else None


_NEUTRAL = {"mul": (1, True), "add": (0, True), "sub": (0, False), "div": (1, False)}
RULES: dict[str, Callable[[Graph, Node], Value | None]] = {
    **{op: lambda g, n, _k=k: _identity_operand(g, n, *_k) for op, k in _NEUTRAL.items()},
    **{"prim::" + op: lambda g, n, _k=k: _identity_operand(g, n, *_k)
       for op, k in {**_NEUTRAL, "floordiv": (1, False)}.items()},
    "neg": _neg,
    "permute": _permute,
    "reshape": _reshape,
    "expand": _no_op_if_same_type,
    "cast": _no_op_if_same_type,
}


def simplify(graph: Graph) -> Graph:
    """Apply `RULES` everywhere until nothing changes, then drop what became dead."""
    changed = True
    while changed:
        changed = False
        for node in list(graph.nodes()):
            rule = RULES.get(node.op)
            if rule is None or any(isinstance(a, InputAttr) for a in node.attrs.values()) and node.op != "reshape":
                continue
            before = (list(node.inputs), dict(node.attrs))
            replacement = rule(graph, node)
            if replacement is not None:
                replace_uses(graph.block, {node.output: replacement})
                changed = True
            elif (list(node.inputs), dict(node.attrs)) != before:
                changed = True
        if changed:
            eliminate_dead_code(graph)
    return graph
