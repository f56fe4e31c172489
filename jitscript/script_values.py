"""What a name means while the script compiler runs.

A name is bound to either a run-time IR `Value`, or to something known at compile time:
a Python constant (`Const`), a module (`ModuleRef`), a callable (`Callee`), a tuple or list
whose items are known (`TupleSV`, `ListSV`), or `Undefined` (defined on some paths only).
Compile-time things are folded away: `self.training`, `len(self.layers)` or `x is None`
for a non-Optional `x` never reach the IR. They become `prim::constant` nodes only when a
run-time value is needed (a loop-carried variable, an if output, a graph output).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .diagnostics import SourceLoc
from .ir import Value
from .prims import scalar_constant_type
from .types import (
    FloatType,
    IntType,
    IRType,
    ListType,
    NoneType,
    OptionalType,
    TensorType,
    TupleType,
)


@dataclass(frozen=True)
class Const:
    """A Python constant known at compile time (int, float, bool, str, None, a dtype)."""

    value: object


@dataclass(frozen=True, eq=False)
class ModuleRef:
    """A module (`self`, `self.fc`, a ModuleList); `path` prefixes its parameter names."""

    module: object
    path: str


@dataclass(frozen=True, eq=False)
class Callee:
    """Something callable: a Python function (with `bound` as its first argument when it is
    a method), a builtin, or a tensor method `name` bound to a tensor."""

    fn: Callable | None
    bound: object = None
    name: str = ""


@dataclass(frozen=True, eq=False)
class TupleSV:
    """A tuple whose items are known at compile time (each item is itself an SV)."""

    items: tuple


@dataclass(frozen=True, eq=False)
class ListSV:
    """A list literal whose items are known at compile time."""

    items: tuple


@dataclass(frozen=True, eq=False)
class Undefined:
    """A name defined on some paths only (reading it is an error that says why)."""

    reason: str
    loc: SourceLoc = field(default=None)


SV = Value | Const | ModuleRef | Callee | TupleSV | ListSV | Undefined


def const_type(value) -> IRType | None:
    """The IR type of a Python constant (None for things that have no run-time form)."""
    return scalar_constant_type(value)


def type_of(sv) -> IRType | None:
    """The static type of an SV (None for modules and callables)."""
    if isinstance(sv, Value):
        return sv.type
    if isinstance(sv, Const):
        return const_type(sv.value)
    if isinstance(sv, TupleSV):
        items = [type_of(i) for i in sv.items]
        return None if any(t is None for t in items) else TupleType(tuple(items))
    if isinstance(sv, ListSV):
        items = [type_of(i) for i in sv.items]
        if not items or any(t is None for t in items):
            return None if items else ListType(TensorType())
        return ListType(join_all(items) or items[0])
    return None


def describe_type(t: IRType | None) -> str:
    """`Tensor`, `int`, `Optional[Tensor]`, ... for messages (shapes left out)."""
    if t is None:
        return "a module or function"
    if isinstance(t, TensorType):
        return "Tensor"
    if isinstance(t, OptionalType):
        return f"Optional[{describe_type(t.elem)}]"
    if isinstance(t, ListType):
        return f"List[{describe_type(t.elem)}]"
    if isinstance(t, TupleType):
        return "Tuple[" + ", ".join(describe_type(e) for e in t.elems) + "]"
    return str(t)


def join(a: IRType, b: IRType) -> IRType | None:
    """The least type holding both `a` and `b`, or None when they do not mix (int vs Tensor)."""
    if a == b:
        return a
    if isinstance(a, NoneType) and not isinstance(b, NoneType):
        return b if isinstance(b, OptionalType) else OptionalType(b)
    if isinstance(b, NoneType):
        return join(b, a)
    if isinstance(a, OptionalType) or isinstance(b, OptionalType):
        inner = join(a.elem if isinstance(a, OptionalType) else a, b.elem if isinstance(b, OptionalType) else b)
        return None if inner is None else OptionalType(inner)
    if isinstance(a, TensorType) and isinstance(b, TensorType):
        return _join_tensors(a, b)
    if isinstance(a, TupleType) and isinstance(b, TupleType) and len(a.elems) == len(b.elems):
        elems = [join(x, y) for x, y in zip(a.elems, b.elems)]
        return None if any(e is None for e in elems) else TupleType(tuple(elems))
    if isinstance(a, ListType) and isinstance(b, ListType):
        elem = join(a.elem, b.elem)
        return None if elem is None else ListType(elem)
    return None


def join_all(types: list) -> IRType | None:
    out = types[0]
    for t in types[1:]:
        out = join(out, t) if out is not None else None
    return out


def _join_tensors(a: TensorType, b: TensorType) -> TensorType | None:
    if a.dtype is not None and b.dtype is not None and a.dtype is not b.dtype:
        return None
    dtype = a.dtype if a.dtype is not None else b.dtype
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return TensorType(dtype, None)
    return TensorType(dtype, tuple(x if x == y else "?" for x, y in zip(a.shape, b.shape)))


def assignable(declared: IRType, got: IRType | None) -> bool:
    """Whether a value of type `got` may be passed where `declared` is expected."""
    if got is None:
        return False
    if isinstance(declared, TensorType):
        return isinstance(got, TensorType)
    if isinstance(declared, OptionalType):
        inner = got.elem if isinstance(got, OptionalType) else got
        return isinstance(got, NoneType) or assignable(declared.elem, inner)
    if isinstance(declared, FloatType):
        return isinstance(got, (FloatType, IntType))
    if isinstance(declared, ListType):
        return isinstance(got, ListType) and assignable(declared.elem, got.elem)
    if isinstance(declared, TupleType):
        return isinstance(got, TupleType) and len(got.elems) == len(declared.elems) and all(
            assignable(d, g) for d, g in zip(declared.elems, got.elems))
    return type(declared) is type(got)


def is_module_sequence(module) -> bool:
    """A ModuleList or Sequential: iterated, indexed and called child by child (unrolled)."""
    return type(module).__name__ in ("ModuleList", "Sequential")
