"""Scale folding (inference): `mul(matmul(a, b), c)` with a constant scalar c, where one operand is
a linear over parameters reached only through view ops (attention's `(Q K^T) * 1/sqrt(d)`, Q a
projection split into heads), becomes the matmul alone with that linear's weight and bias scaled
by c. One elementwise pass over the scores fewer; exact up to float rounding (c (W x + b) is
computed as (c W) x + c b).
"""
from __future__ import annotations

from eager.ops.registry import REGISTRY

from ..interpreter import as_array, as_tensor
from ..ir import Graph, Node, Value, replace_uses, uses
from .dce import eliminate_dead_code
from .fold_batchnorm import add_param, param_array


def fold_scales(graph: Graph) -> Graph:
    """Fold every constant scale of a matmul into the linear behind one of its operands."""
    counts = _value_reads(graph)
    for mul in [n for n in graph.nodes() if n.op == "mul" and len(n.inputs) == 2]:
        for product, scalar in (mul.inputs, mul.inputs[::-1]):
            scale = _scalar(graph, scalar)
            matmul = product.node
            if (scale is None or matmul is None or matmul.op != "matmul" or counts.get(product, 0) != 1
                    or matmul.attrs.get("activation", "none") != "none" or product.type != mul.output.type):
                continue
            linear = next((n for n in (_linear_behind(v, counts) for v in matmul.inputs) if n), None)
            if linear is not None and _scale_linear(graph, linear, scale):
                replace_uses(graph.block, {mul.output: product})
                break
    return eliminate_dead_code(graph)


def _value_reads(graph: Graph) -> dict[Value, int]:
    """Each value's readers, leaving out `prim::size` (a size is the same after scaling)."""
    counts = uses(graph.block)
    for node in graph.nodes():
        if node.op == "prim::size":
            counts[node.inputs[0]] -= 1
    return counts


def _scalar(graph: Graph, v: Value) -> float | None:
    """The value of a constant scalar: a prim::scalar_tensor of a constant, or a 0-d parameter."""
    node = v.node
    if node is not None and node.op == "prim::scalar_tensor":
        source = node.inputs[0].node
        value = source.attrs["value"] if source is not None and source.op == "prim::constant" else None
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if node is not None and node.op == "prim::param" and node.attrs["name"] in graph.params:
        array = as_array(graph.params[node.attrs["name"]])
        return float(array) if array.ndim == 0 and array.dtype.kind == "f" else None
    return None


def _linear_behind(v: Value, counts: dict[Value, int]) -> Node | None:
    """The activation-free linear that `v` views (through view ops), each step read only once."""
    node = v.node
    while counts.get(v, 0) == 1 and node is not None and REGISTRY.get(node.op) is not None:
        if node.op == "linear":
            return node if node.attrs.get("activation", "none") == "none" else None
        if not REGISTRY[node.op].extra.get("view"):
            return None
        v = node.inputs[0]
        node = v.node
    return None


def _scale_linear(graph: Graph, linear: Node, scale: float) -> bool:
    """Scale the linear's weight and bias parameters by `scale`; False when they are not parameters."""
    try:
        weight = param_array(graph, linear.inputs[1])
        bias = param_array(graph, linear.inputs[2]) if len(linear.inputs) > 2 else None
    except LookupError:
        return False
    if weight is None:
        return False
    name = linear.inputs[1].node.attrs["name"]
    dtype = as_tensor(graph.params[name]).data.dtype
    base = f"{name.removesuffix('weight').rstrip('._')}.scaled"
    inputs = [linear.inputs[0], add_param(graph, linear, f"{base}.weight", (weight * scale).astype(dtype))]
    if bias is not None:
        inputs.append(add_param(graph, linear, f"{base}.bias", (bias * scale).astype(dtype)))
    linear.inputs = inputs
    return True
