"""Linear splitting: a `linear` whose every reader slices its last dim (attention's packed Q/K/V
projection, `qkv[..., 0:16]`, `[16:32]`, `[32:48]`) becomes one linear per slice over the matching
rows of the weight and bias. Each slice was a strided copy of the packed result; now each
projection writes its own contiguous tensor, which the reshapes after it merely view. Exact: every
output element is the same dot product as before.
"""
from __future__ import annotations

from ..interpreter import as_tensor
from ..ir import Graph, InputAttr, Node, replace_uses, uses
from .dce import eliminate_dead_code
from .fold_batchnorm import add_param, param_array

FULL = ("slice", None, None, None)


def split_linears(graph: Graph) -> Graph:
    """Split every linear read only through last-dim slices (nested blocks too)."""
    counts = uses(graph.block)
    readers: dict = {}
    for node in graph.nodes():
        for v in node.inputs:
            readers.setdefault(v, []).append(node)
    for linear in [n for n in graph.nodes() if n.op == "linear"]:
        slices = readers.get(linear.output, [])
        if slices and len(slices) == counts.get(linear.output, 0) and all(_last_dim_slice(s, linear) for s in slices):
            try:
                for s in slices:
                    _split(graph, linear, s)
            except LookupError:
                continue
    return eliminate_dead_code(graph)


def _last_dim_slice(node: Node, linear: Node) -> slice | None:
    """The static slice `node` takes of the linear's last dim when it takes nothing else, else None."""
    rank = linear.output.type.shape
    items = node.attrs.get("items") if node.op == "getitem" else None
    if rank is None or not isinstance(items, tuple) or len(items) != len(rank) or node.inputs[0] is not linear.output:
        return None
    last = items[-1]
    if any(item != FULL for item in items[:-1]) or last[0] != "slice" or len(last) != 4:
        return None
    if not all(v is None or (isinstance(v, int) and not isinstance(v, (bool, InputAttr))) for v in last[1:]):
        return None
    return slice(*last[1:])


def _split(graph: Graph, linear: Node, node: Node) -> None:
    """Replace the slice `node` by a linear over the sliced weight (and bias) rows."""
    rows = _last_dim_slice(node, linear)
    weight = param_array(graph, linear.inputs[1])
    bias = param_array(graph, linear.inputs[2]) if len(linear.inputs) > 2 else None
    if weight is None:
        raise LookupError("the weight is needed")
    name = linear.inputs[1].node.attrs["name"]
    dtype = as_tensor(graph.params[name]).data.dtype
    start, stop, step = rows.indices(weight.shape[0])
    base = f"{name.removesuffix('weight').rstrip('._')}.rows_{start}_{stop}" + (f"_{step}" if step != 1 else "")
    inputs = [linear.inputs[0], add_param(graph, node, f"{base}.weight", weight[rows].astype(dtype))]
    if bias is not None:
        inputs.append(add_param(graph, node, f"{base}.bias", bias[rows].astype(dtype)))
    block = node.owner
    split = block.add_node("linear", inputs, dict(linear.attrs), [node.output.type], loc=node.loc,
                           index=block.nodes.index(node))
    replace_uses(graph.block, {node.output: split.output})
