"""Conv/Linear + BatchNorm folding (inference): `batch_norm(conv2d(x, W, b), mean, var, g, beta)`
becomes `conv2d(x, W', b')` with W' = W * s and b' = (b - mean) * s + beta per output channel,
s = g / sqrt(var + eps). In the IR a `batch_norm` node always normalizes with the tensors it is
given, so folding applies whenever those are parameters (a module traced in eval mode); training-mode
batch statistics are computed values and are never folded.
"""
from __future__ import annotations

import numpy as np

from eager.tensor import Tensor

from ..interpreter import as_array, as_tensor
from ..ir import Graph, Node, Value, replace_uses, uses
from ..types import TensorType
from .dce import eliminate_dead_code

FOLDABLE = ("conv2d", "linear")


def param_array(graph: Graph, v: Value) -> np.ndarray | None:
    """The float64 data of a parameter value; None for a None operand; raises LookupError otherwise."""
    node = v.node
    if node is not None and node.op == "prim::constant" and node.attrs["value"] is None:
        return None
    if node is None or node.op != "prim::param" or node.attrs["name"] not in graph.params:
        raise LookupError(f"%{v.name} is not a parameter")
    return as_array(graph.params[node.attrs["name"]]).astype(np.float64)


def fold_batchnorm(graph: Graph) -> Graph:
    """Fold every foldable batch_norm into the conv2d/linear producing its input (see module doc)."""
    counts = uses(graph.block)
    for bn in [n for n in graph.nodes() if n.op == "batch_norm"]:
        producer = bn.inputs[0].node
        if producer is None or producer.op not in FOLDABLE or counts.get(bn.inputs[0], 0) != 1:
            continue
        if producer.op == "linear" and (bn.inputs[0].type.shape is None or len(bn.inputs[0].type.shape) != 2):
            continue  # BatchNorm1d over (N, C, L) normalizes dim 1, not linear's feature dim
        try:
            _fold(graph, producer, bn)
        except LookupError:
            continue
    return eliminate_dead_code(graph)


def _fold(graph: Graph, producer: Node, bn: Node) -> None:
    weight, bias = producer.inputs[1], producer.inputs[2] if len(producer.inputs) > 2 else None
    w = param_array(graph, weight)
    b = param_array(graph, bias) if bias is not None else None
    mean, var, gamma, beta = (param_array(graph, v) for v in bn.inputs[1:5])
    if w is None or mean is None or var is None:
        raise LookupError("weight, running_mean and running_var are needed")
    scale = 1 / np.sqrt(var + bn.attrs["eps"])
    if gamma is not None:
        scale = scale * gamma
    new_w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
    new_b = ((b if b is not None else 0.0) - mean) * scale + (beta if beta is not None else 0.0)
    dtype = as_tensor(graph.params[weight.node.attrs["name"]]).data.dtype
    base = weight.node.attrs["name"].removesuffix(".weight")
    w_value = add_param(graph, producer, f"{base}.bn_folded.weight", new_w.astype(dtype))
    b_value = add_param(graph, producer, f"{base}.bn_folded.bias", new_b.astype(dtype))
    producer.inputs = [producer.inputs[0], w_value, b_value]
    replace_uses(graph.block, {bn.output: producer.output})


def add_param(graph: Graph, before: Node, name: str, data: np.ndarray) -> Value:
    """A new parameter `name` (made unique) holding `data`, read by a prim::param placed before `before`."""
    unique, k = name, 1
    while unique in graph.params:
        unique, k = f"{name}.{k}", k + 1
    graph.params[unique] = Tensor._wrap(data)
    block = before.owner
    node = block.add_node("prim::param", [], {"name": unique}, [TensorType(
        _dtype_of(data), data.shape)], loc=before.loc, names=[unique.replace(".", "_")],
        index=block.nodes.index(before))
    return node.output


def _dtype_of(data: np.ndarray):
    from eager.dtypes import from_numpy

    return from_numpy(data.dtype)
