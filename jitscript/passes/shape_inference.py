"""Shape and dtype propagation: recompute every value's type from the graph inputs' types with the
op registry's `infer` rules, keeping symbolic dims (a batch `N`) symbolic.

Sizes are tracked as symbolic scalars while propagating: `prim::size(%x, 0)` of a
`Tensor(float32, [N, 3, 4])` is `N`, and `N * 3 * 4 // N` is 12, so a reshape whose shape was
computed from sizes gets an exact type. A dim that cannot be expressed is `?`.
"""
from __future__ import annotations

from eager.errors import OpError
from eager.ops.registry import REGISTRY, Spec

from ..ir import Block, Graph, InputAttr, IRError, Node, Value
from ..prims import PRIMS
from ..types import IntType, IRType, ListType, OptionalType, TensorType, TupleType


class Sym:
    """A product of symbols with an integer coefficient (enough for sizes: N*3*4 // N == 12)."""

    __slots__ = ("coeff", "factors")

    def __init__(self, coeff: int, factors: tuple) -> None:
        self.coeff, self.factors = coeff, tuple(sorted(factors))

    @staticmethod
    def of(x):
        """`x` (an int, a symbol name or a Sym) as a Sym."""
        return x if isinstance(x, Sym) else Sym(x, ()) if isinstance(x, int) else Sym(1, ((x, 1),))

    def mul(self, other: Sym) -> Sym:
        """The product of two Syms."""
        powers = dict(self.factors)
        for name, p in other.factors:
            powers[name] = powers.get(name, 0) + p
        return Sym(self.coeff * other.coeff, tuple((n, p) for n, p in powers.items() if p))

    def floordiv(self, other: Sym) -> Sym | None:
        """The exact quotient, or None when `other` does not divide `self`."""
        powers = dict(self.factors)
        for name, p in other.factors:
            if powers.get(name, 0) < p:
                return None
            powers[name] -= p
        if other.coeff == 0 or self.coeff % other.coeff:
            return None
        return Sym(self.coeff // other.coeff, tuple((n, p) for n, p in powers.items() if p))

    def simple(self):
        """An int, a symbol name, or "?" (types hold only these)."""
        if not self.factors:
            return self.coeff
        if self.coeff == 1 and len(self.factors) == 1 and self.factors[0][1] == 1:
            return self.factors[0][0]
        return "?"


UNKNOWN = object()


def sym_binary(op: str, a, b):
    """Symbolic `a op b` over ints, symbol names and `Sym`s; UNKNOWN when it cannot be expressed."""
    from ..prims import SCALAR_BINARY

    if _is_number(a) and _is_number(b):
        return SCALAR_BINARY[op](a, b)
    if not (_is_dim(a) and _is_dim(b)):
        return UNKNOWN
    if op == "mul":
        return _normal(Sym.of(a).mul(Sym.of(b)))
    if op == "floordiv":
        q = Sym.of(a).floordiv(Sym.of(b))
        return UNKNOWN if q is None else _normal(q)
    if op in ("add", "sub") and b == 0:
        return a
    return UNKNOWN


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, Sym)


def _is_dim(x) -> bool:
    return isinstance(x, (int, Sym)) or (isinstance(x, str) and x != "?")


def _normal(s: Sym):
    """An int or a plain symbol name where `s` is one, else `s` itself."""
    simple = s.simple()
    return s if simple == "?" else simple


def as_attr(value):
    """A statically known value as an attribute for a shape rule (`Sym`s become "?")."""
    if isinstance(value, Sym):
        return value.simple()
    if isinstance(value, (tuple, list)):
        return type(value)(as_attr(v) for v in value)
    return value


def infer_shapes(graph: Graph) -> Graph:
    """Retype every value of `graph` from its inputs' types (in place); returns the graph."""
    static_ints(graph)
    return graph


def static_ints(graph: Graph) -> dict[Value, int]:
    """Retype `graph` (as `infer_shapes`) and return the int values known from the types alone
    (sizes of static dims and arithmetic on them, e.g. `N * 16 // N`)."""
    inference = _Inference(graph)
    inference.block(graph.block, [v.type for v in graph.inputs])
    return {v: k for v, k in inference.known.items()
            if isinstance(v.type, IntType) and isinstance(k, int) and not isinstance(k, bool)}


class _Inference:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.known: dict[Value, object] = {}  # scalar values known statically (ints, symbols, constants)

    def block(self, block: Block, param_types: list[IRType]) -> None:
        for p, t in zip(block.params, param_types):
            p.type = t
        for node in block.nodes:
            self.node(node)

    def node(self, node: Node) -> None:
        if node.op in REGISTRY:
            self.registry_op(node)
        else:
            handler = _PRIM_RULES.get(node.op)
            if handler is not None:
                handler(self, node)
            elif node.op.removeprefix("prim::") in _SCALAR_OPS:
                self.scalar_op(node)

    def registry_op(self, node: Node) -> None:
        op = REGISTRY[node.op]
        operands = node.tensor_inputs()
        attrs = {k: as_attr(self.static(node.inputs[v.index])) if isinstance(v, InputAttr) else v
                 for k, v in node.attrs.items()}
        specs = [None if not isinstance(v.type, TensorType) else Spec(v.type.dtype, v.type.shape) for v in operands]
        if any(s is not None and (s.shape is None or s.dtype is None) for s in specs) or _has_unknown(attrs):
            self.unknown_outputs(node)
            return
        try:
            result = op.infer(*specs, **attrs)
        except OpError as exc:  # the shapes really do not fit
            raise IRError(f"{node.describe()}: {exc}") from exc
        except Exception:  # a rule that cannot handle symbolic dims: the shape becomes unknown
            self.unknown_outputs(node)
            return
        results = result if op.num_outputs > 1 else (result,)
        for v, spec in zip(node.outputs, results):
            v.type = TensorType(spec.dtype, tuple(d if isinstance(d, (int, str)) else "?" for d in spec.shape))

    def unknown_outputs(self, node: Node) -> None:
        for v in node.outputs:
            old = v.type if isinstance(v.type, TensorType) else TensorType()
            v.type = TensorType(old.dtype, None)

    def static(self, v: Value):
        """The statically known value of a scalar/list/tuple `v` (ints may be symbols), or UNKNOWN."""
        return self.known.get(v, UNKNOWN)

    def scalar_op(self, node: Node) -> None:
        args = [self.static(v) for v in node.inputs]
        name = node.op.removeprefix("prim::")
        if len(args) == 2:
            value = sym_binary(name, *args)
        elif all(isinstance(a, (int, float, bool)) for a in args):
            value = PRIMS[node.op].run(*args)[0]
        else:
            value = UNKNOWN
        if value is not UNKNOWN:
            self.known[node.output] = value

    def constant(self, node: Node) -> None:
        self.known[node.output] = node.attrs["value"]

    def size(self, node: Node) -> None:
        t, dim = node.inputs[0].type, self.static(node.inputs[1])
        if isinstance(t, TensorType) and t.shape is not None and isinstance(dim, int):
            d = t.shape[dim]
            if d != "?":
                self.known[node.output] = d

    def construct(self, node: Node) -> None:
        items = [self.static(v) for v in node.inputs]
        if node.op == "prim::tuple_construct":
            node.output.type = TupleType(tuple(v.type for v in node.inputs))
            value = tuple(items)
        else:
            node.output.type = ListType(node.inputs[0].type if node.inputs else IntType())
            value = items
        if UNKNOWN not in items:
            self.known[node.output] = value

    def tuple_index(self, node: Node) -> None:
        t = node.inputs[0].type
        if isinstance(t, TupleType):
            node.output.type = t.elems[node.attrs["index"]]

    def unpack(self, node: Node) -> None:
        t = node.inputs[0].type
        for i, v in enumerate(node.outputs):
            v.type = t.elems[i] if isinstance(t, TupleType) else t.elem if isinstance(t, ListType) else v.type

    def if_(self, node: Node) -> None:
        for b in node.blocks:
            self.block(b, [])
        for i, v in enumerate(node.outputs):
            v.type = join(node.blocks[0].returns[i].type, node.blocks[1].returns[i].type)

    def loop(self, node: Node) -> None:
        body = node.blocks[0]
        carried = [v.type for v in node.inputs[2:]]
        for _ in range(3):  # types reach a fixed point quickly: each join only forgets dims
            self.block(body, [IntType()] + carried)
            joined = [join(a, r.type) for a, r in zip(carried, body.returns[1:])]
            if joined == carried:
                break
            carried = joined
        for v, t in zip(node.outputs, carried):
            v.type = t

    def subgraph(self, node: Node) -> None:
        body = node.blocks[0]
        for p, v in zip(body.params, node.inputs):
            if v in self.known:
                self.known[p] = self.known[v]
        self.block(body, [v.type for v in node.inputs])
        for v, r in zip(node.outputs, body.returns):
            v.type = r.type
            if r in self.known:
                self.known[v] = self.known[r]

    def param(self, node: Node) -> None:
        tensor = self.graph.params.get(node.attrs["name"])
        if tensor is not None:
            from ..interpreter import as_tensor

            t = as_tensor(tensor)
            node.output.type = TensorType(t.dtype, tuple(t.shape))


def _has_unknown(value) -> bool:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return any(_has_unknown(v) for v in value)
    return value is UNKNOWN


def join(a: IRType, b: IRType) -> IRType:
    """The most precise type covering both `a` and `b` (differing dims become `?`)."""
    if a == b:
        return a
    if isinstance(a, TensorType) and isinstance(b, TensorType):
        dtype = a.dtype if a.dtype is b.dtype else None
        if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
            return TensorType(dtype, None)
        return TensorType(dtype, tuple(x if x == y else "?" for x, y in zip(a.shape, b.shape)))
    if isinstance(b, OptionalType) or type(a) is not type(b):
        return b if isinstance(b, OptionalType) else OptionalType(a) if type(b).__name__ == "NoneType" else a
    return a


_SCALAR_OPS = ("add", "sub", "mul", "div", "floordiv", "mod", "min", "max", "pow", "neg", "abs", "not",
               "eq", "ne", "lt", "le", "gt", "ge", "and", "or")
_PRIM_RULES = {
    "prim::constant": _Inference.constant, "prim::size": _Inference.size, "prim::param": _Inference.param,
    "prim::list_construct": _Inference.construct, "prim::tuple_construct": _Inference.construct,
    "prim::tuple_index": _Inference.tuple_index, "prim::tuple_unpack": _Inference.unpack,
    "prim::list_unpack": _Inference.unpack, "prim::if": _Inference.if_, "prim::loop": _Inference.loop,
    "prim::fused": _Inference.subgraph, "prim::call": _Inference.subgraph,
}
