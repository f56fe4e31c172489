"""Constant folding: evaluate pure nodes whose inputs are all known before running the graph.

Known values are `prim::constant`s and (with `fold_params`, the inference default) parameters.
A folded scalar, list or tuple becomes a `prim::constant`; a folded tensor becomes a new graph
parameter `folded.K` read by `prim::param` (tensors are graph attributes, never inlined). A
`prim::if` on a known condition is replaced by the block it takes; a `prim::loop` whose
condition or trip count is known to stop it at once is replaced by its initial values.
"""
from __future__ import annotations

from collections import deque

from eager.autograd.grad_mode import no_grad
from eager.tensor import Tensor

from ..interpreter import Interpreter, as_tensor
from ..ir import Block, Graph, IRError, Node, Value, replace_uses
from ..prims import constant_type
from ..types import IntType, TensorType
from .dce import eliminate_dead_code, is_pure
from .shape_inference import infer_shapes, static_ints

_BATCH = "batch"  # input i's concrete dim 0 is the symbol batch<i> while finding static sizes
_KEPT = ("prim::scalar_tensor",)  # already a constant, and more readable (and foldable by CSE) than a param
MAX_FOLDED_ELEMENTS = 1 << 20  # larger results are computed at run time rather than stored


def fold_constants(graph: Graph, fold_params: bool = True) -> Graph:
    """Fold what can be computed now (see the module docstring); returns the graph."""
    _Folder(graph, fold_params).block(graph.block)
    return eliminate_dead_code(graph)


def fold_static_sizes(graph: Graph) -> Graph:
    """Replace every int computed from sizes that the value types fix (`x.size(1)` of a
    `Tensor(float32, [N, 16])`, `N * 16 // N`) by a `prim::constant`, then fold what follows.

    The input types are a contract for every dim but the batch: dim 0 of each input is never
    frozen, even where the types show the example's batch size (a trace or script without
    `dynamic_batch`), so the graph keeps running at any batch size."""
    declared = [v.type for v in graph.inputs]
    for i, v in enumerate(graph.inputs):
        if isinstance(v.type, TensorType) and v.type.shape and isinstance(v.type.shape[0], int):
            v.type = TensorType(v.type.dtype, (f"{_BATCH}{i}",) + v.type.shape[1:])
    try:
        static = static_ints(graph)
    except IRError:  # a shape rule that rejects a symbolic dim 0: fold no sizes rather than guess
        static = {}
    for v, t in zip(graph.inputs, declared):
        v.type = t
    infer_shapes(graph)
    for node in list(graph.nodes()):
        if node.op.startswith("prim::") and node.op != "prim::constant" and not node.blocks \
                and len(node.outputs) == 1 and node.output in static and is_pure(node):
            const = node.owner.add_node("prim::constant", [], {"value": static[node.output]}, [IntType()],
                                        node.loc, names=[node.output.name], index=node.owner.nodes.index(node))
            replace_uses(graph.block, {node.output: const.output})
    return fold_constants(graph)


def _representable(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_representable(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


class _Folder:
    def __init__(self, graph: Graph, fold_params: bool) -> None:
        self.graph = graph
        self.fold_params = fold_params
        self.known: dict[Value, object] = {}
        self.interpreter = Interpreter(graph)

    def block(self, block: Block) -> None:
        work, kept = deque(block.nodes), []
        while work:
            node = work.popleft()
            spliced = self.node(node, kept)
            if spliced is not None:
                work.extendleft(reversed(spliced))
            elif node is not None:
                kept.append(node)
        block.nodes = []
        for node in kept:
            block.append(node)

    def node(self, node: Node, kept: list) -> list[Node] | None:
        """Fold `node`: None to keep it as it is (appended by the caller); a list of nodes replacing it
        (processed next), possibly empty."""
        if node.op == "prim::constant":
            self.known[node.output] = node.attrs["value"]
            return None
        if node.op == "prim::param":
            if self.fold_params and node.attrs["name"] in self.graph.params:
                self.known[node.output] = as_tensor(self.graph.params[node.attrs["name"]])
            return None
        if node.op == "prim::if" and node.inputs[0] in self.known:
            return self.splice(node, node.blocks[0 if self.known[node.inputs[0]] else 1])
        if node.op == "prim::loop" and self.stops_at_once(node):
            replace_uses(self.graph.block, dict(zip(node.outputs, node.inputs[2:])))
            return []
        if node.op in _KEPT:  # known (so its users fold) but not replaced
            if all(v in self.known for v in node.inputs):
                with no_grad():
                    self.known[node.output] = self.interpreter.node(node, {v: self.known[v] for v in node.inputs})[0]
            return None
        if node.blocks or not is_pure(node) or not all(v in self.known for v in node.inputs):
            for b in node.blocks:
                self.block(b)
            return None
        return self.evaluate(node)

    def stops_at_once(self, node: Node) -> bool:
        trip, cond = node.inputs[0], node.inputs[1]
        return (cond in self.known and not self.known[cond]) or (trip in self.known and self.known[trip] <= 0)

    def splice(self, node: Node, block: Block) -> list[Node]:
        replace_uses(self.graph.block, dict(zip(node.outputs, block.returns)))
        return list(block.nodes)

    def evaluate(self, node: Node) -> list[Node] | None:
        env = {v: self.known[v] for v in node.inputs}
        with no_grad():
            outs = self.interpreter.node(node, env)
        if any(isinstance(o, Tensor) and o.data.size > MAX_FOLDED_ELEMENTS for o in outs):
            return None
        if not all(isinstance(o, Tensor) or _representable(o) for o in outs):
            return None
        replacements = [self.materialize(out, value, node) for out, value in zip(outs, node.outputs)]
        replace_uses(self.graph.block, {v: r.output for v, r in zip(node.outputs, replacements)})
        return replacements

    def materialize(self, out, value: Value, node: Node) -> Node:
        """A `prim::constant` or `prim::param` node producing `out` in place of `value`."""
        if isinstance(out, Tensor):
            name = self.fresh_name()
            self.graph.params[name] = out.detach()
            new = Node("prim::param", [], [Value(TensorType(out.dtype, tuple(out.shape)), value.name)],
                       {"name": name}, loc=node.loc)
        else:
            new = Node("prim::constant", [], [Value(constant_type(out), value.name)], {"value": out}, loc=node.loc)
        return new

    def fresh_name(self) -> str:
        k = len(self.graph.params)
        while f"folded.{k}" in self.graph.params:
            k += 1
        return f"folded.{k}"
