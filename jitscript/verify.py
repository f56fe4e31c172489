"""The IR verifier: SSA, dominance, block arities, types of structural ops, registry attributes.

Run after every pass in tests. Every error is an `IRError` naming the node (its outputs, op and
source location) and what is wrong.
"""
from __future__ import annotations

from eager.ops.registry import REGISTRY, Spec

from .ir import Block, Graph, InputAttr, IRError, Node, Value
from .prims import PRIMS
from .types import BoolType, IntType, NoneType, OptionalType, TensorType, TupleType


def verify(graph: Graph) -> Graph:
    """Check `graph`; return it unchanged or raise IRError."""
    _Verifier(graph).block(graph.block, set())
    return graph


class _Verifier:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.defined: set[Value] = set()

    def define(self, v: Value, scope: set, where: str) -> None:
        if v in self.defined:
            raise IRError(f"{where}: value %{v.name} is defined more than once (SSA)")
        self.defined.add(v)
        scope.add(v)

    def block(self, block: Block, outer: set) -> None:
        scope = set(outer)
        for p in block.params:
            self.define(p, scope, f"block of {block.owner.describe() if block.owner else 'graph'}")
        for node in block.nodes:
            if node.owner is not block:
                raise IRError(f"{node.describe()}: its owner is not the block that holds it")
            for v in node.inputs:
                if v not in scope:
                    raise IRError(f"{node.describe()}: input %{v.name} is not defined before this node "
                                  "(or not visible in this block)")
            for b in node.blocks:
                self.block(b, scope)
            self.check_node(node)
            for v in node.outputs:
                if v.node is not node:
                    raise IRError(f"{node.describe()}: output %{v.name} does not point back at its node")
                self.define(v, scope, node.describe())
        for v in block.returns:
            if v not in scope:
                raise IRError(f"block returns %{v.name}, which is not defined in scope"
                              + (f" (in {block.owner.describe()})" if block.owner else ""))

    def check_node(self, node: Node) -> None:
        if node.op.startswith("prim::"):
            self.check_prim(node)
        else:
            self.check_registry_op(node)

    def check_registry_op(self, node: Node) -> None:
        op = REGISTRY.get(node.op)
        if op is None:
            raise IRError(f"{node.describe()}: {node.op!r} is neither a registry op nor a prim:: op")
        unknown = set(node.attrs) - set(op.attrs)
        if unknown:
            raise IRError(f"{node.describe()}: unknown attribute(s) {sorted(unknown)}; {node.op} takes {op.attrs}")
        missing = [a for a in op.attrs if a not in node.attrs and a not in op.optional_attrs]
        if missing:
            raise IRError(f"{node.describe()}: missing attribute(s) {missing}; {node.op} takes {op.attrs}")
        for key, value in node.attrs.items():
            if isinstance(value, InputAttr) and not 0 <= value.index < len(node.inputs):
                raise IRError(f"{node.describe()}: attribute {key}=${value.index} names no input")
        if len(node.outputs) != op.num_outputs:
            raise IRError(f"{node.describe()}: {node.op} has {op.num_outputs} output(s), the node has "
                          f"{len(node.outputs)}")
        for v in node.tensor_inputs():
            if not isinstance(v.type, (TensorType, NoneType, OptionalType)):
                raise IRError(f"{node.describe()}: operand %{v.name} has type {v.type}, expected a tensor")
        for v in node.outputs:
            if not isinstance(v.type, TensorType):
                raise IRError(f"{node.describe()}: output %{v.name} has type {v.type}, expected a tensor")
        if node.blocks:
            raise IRError(f"{node.describe()}: registry ops have no blocks")
        _check_declared_types(node, op)

    def check_prim(self, node: Node) -> None:
        prim = PRIMS.get(node.op)
        if prim is None:
            raise IRError(f"{node.describe()}: unknown structural op {node.op!r}")
        if prim.inputs is not None and len(node.inputs) != prim.inputs:
            raise IRError(f"{node.describe()}: takes {prim.inputs} input(s), got {len(node.inputs)}")
        if prim.outputs is not None and len(node.outputs) != prim.outputs:
            raise IRError(f"{node.describe()}: has {prim.outputs} output(s), got {len(node.outputs)}")
        missing = [a for a in prim.attrs if a not in node.attrs]
        if missing or set(node.attrs) - set(prim.attrs):
            raise IRError(f"{node.describe()}: attributes {sorted(node.attrs)}, expected {list(prim.attrs)}")
        if len(node.blocks) != prim.blocks:
            raise IRError(f"{node.describe()}: has {len(node.blocks)} block(s), expected {prim.blocks}")
        check = _STRUCTURE.get(node.op)
        if check is not None:
            check(node)
        if node.op == "prim::param" and self.graph.params and node.attrs["name"] not in self.graph.params:
            raise IRError(f"{node.describe()}: parameter {node.attrs['name']!r} is not in graph.params")


def _check_declared_types(node: Node, op) -> None:
    """Where the operands' types are fully known and the attributes static, the registry's `infer`
    must agree with the declared output types: same dtype, same rank, and equal dims where both
    are numbers (a symbol or `?` on either side is not compared)."""
    operands = node.tensor_inputs()
    if any(isinstance(a, InputAttr) for a in node.attrs.values()):
        return
    specs = []
    for v in operands:
        if isinstance(v.type, TensorType) and v.type.dtype is not None and v.type.shape is not None:
            specs.append(Spec(v.type.dtype, v.type.shape))
        elif isinstance(v.type, NoneType):
            specs.append(None)
        else:
            return
    try:
        result = op.infer(*specs, **node.attrs)
    except Exception:  # a rule that rejects these operands is shape inference's to report
        return
    for v, spec in zip(node.outputs, result if op.num_outputs > 1 else (result,)):
        if not _agrees(v.type, spec):
            raise IRError(f"{node.describe()}: output %{v.name} is declared {v.type}, but {node.op} of "
                          f"{', '.join(str(o.type) for o in operands)} gives {TensorType(spec.dtype, spec.shape)}")


def _agrees(declared: TensorType, spec: Spec) -> bool:
    if declared.dtype is not None and declared.dtype is not spec.dtype:
        return False
    if declared.shape is None:
        return True
    if len(declared.shape) != len(spec.shape):
        return False
    return all(not (isinstance(a, int) and isinstance(b, int)) or a == b for a, b in zip(declared.shape, spec.shape))


def _expect(node: Node, v: Value, kind: type, what: str) -> None:
    if not isinstance(v.type, kind):
        raise IRError(f"{node.describe()}: {what} %{v.name} has type {v.type}, expected {kind().__str__()}")


def _check_arity(node: Node, what: str, got: int, want: int) -> None:
    if got != want:
        raise IRError(f"{node.describe()}: {what} has {got} value(s), expected {want}")


def _check_if(node: Node) -> None:
    _expect(node, node.inputs[0], BoolType, "condition")
    for i, b in enumerate(node.blocks):
        _check_arity(node, f"block{i} params", len(b.params), 0)
        _check_arity(node, f"block{i} returns", len(b.returns), len(node.outputs))
        _check_kinds(node, f"block{i} returns", b.returns, node.outputs)


def _check_loop(node: Node) -> None:
    if len(node.inputs) < 2:
        raise IRError(f"{node.describe()}: needs (max_trip_count, initial_cond, *carried) inputs")
    _expect(node, node.inputs[0], IntType, "max_trip_count")
    _expect(node, node.inputs[1], BoolType, "initial_cond")
    carried = len(node.inputs) - 2
    body = node.blocks[0]
    _check_arity(node, "outputs", len(node.outputs), carried)
    _check_arity(node, "body params", len(body.params), carried + 1)
    _check_arity(node, "body returns", len(body.returns), carried + 1)
    _expect(node, body.params[0], IntType, "iteration counter")
    _expect(node, body.returns[0], BoolType, "body condition")
    _check_kinds(node, "body params", body.params[1:], node.inputs[2:])
    _check_kinds(node, "body returns", body.returns[1:], node.outputs)


def _check_fused(node: Node) -> None:
    body = node.blocks[0]
    _check_arity(node, "block params", len(body.params), len(node.inputs))
    _check_arity(node, "block returns", len(body.returns), len(node.outputs))
    for inner in body.nodes:
        if inner.blocks:
            raise IRError(f"{node.describe()}: a fused group holds only straight-line nodes, "
                          f"found {inner.describe()}")


def _check_kinds(node: Node, what: str, got: list[Value], want: list[Value]) -> None:
    for g, w in zip(got, want):
        if type(g.type) is not type(w.type) and not isinstance(w.type, OptionalType):
            raise IRError(f"{node.describe()}: {what} %{g.name} has type {g.type}, expected {w.type}")


def _check_size(node: Node) -> None:
    _expect(node, node.inputs[0], TensorType, "operand")
    _expect(node, node.inputs[1], IntType, "dim")
    _expect(node, node.output, IntType, "output")


def _check_param(node: Node) -> None:
    _expect(node, node.output, TensorType, "output")


def _check_tuple_index(node: Node) -> None:
    t, index = node.inputs[0].type, node.attrs["index"]
    if isinstance(t, TupleType) and not -len(t.elems) <= index < len(t.elems):
        raise IRError(f"{node.describe()}: index {index} is out of range for {t}")


def _check_call(node: Node) -> None:
    body = node.blocks[0]
    _check_arity(node, "block params", len(body.params), len(node.inputs))
    _check_arity(node, "block returns", len(body.returns), len(node.outputs))


_STRUCTURE = {"prim::if": _check_if, "prim::loop": _check_loop, "prim::fused": _check_fused, "prim::call": _check_call,
              "prim::size": _check_size, "prim::param": _check_param, "prim::tuple_index": _check_tuple_index}
