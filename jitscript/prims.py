"""The structural `prim::` ops: one row each (arity, attributes, blocks, type rule, evaluation).

Registry ops (`add`, `conv2d`, ...) come from `eager.ops.registry`; this table holds only what the
registry cannot express: constants, parameters, control flow, Python scalars, lists and tuples.
The verifier, the interpreter, constant folding and docs/ir.md read it; nothing else lists them.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

from .types import BoolType, FloatType, IntType, IRType, ListType, NoneType, StrType, TupleType


@dataclass(frozen=True)
class PrimDef:
    """One structural op. `inputs` is the input count (None: any); `run(*values, **attrs)` returns
    the list of outputs (None for ops the interpreter runs itself: params, blocks)."""

    name: str
    doc: str
    inputs: int | None = None
    outputs: int | None = 1
    attrs: tuple = ()
    blocks: int = 0
    run: Callable | None = None
    pure: bool = True  # no side effect: may be folded, deduplicated and removed when unused


PRIMS: dict[str, PrimDef] = {}


def _prim(name: str, doc: str, **kw) -> PrimDef:
    PRIMS["prim::" + name] = PrimDef("prim::" + name, doc, **kw)
    return PRIMS["prim::" + name]


def _one(fn: Callable) -> Callable:
    return lambda *args, **attrs: [fn(*args, **attrs)]


def _size(t, dim: int) -> int:
    return int(t.shape[dim])


def _raise(*args, message: str):
    raise RuntimeError(message)


def scalar_tensor(value, dtype=None, device: str = "cpu"):
    """A 0-d eager tensor holding `value` (what `prim::scalar_tensor` computes)."""
    from eager.creation import tensor

    return tensor(value, dtype=dtype, device=device)


def _floordiv(a, b):
    return a // b if not (isinstance(a, float) or isinstance(b, float)) else float(math.floor(a / b))


_prim("constant", "a Python constant `value` (int, float, bool, str, None or a list of them)",
      inputs=0, attrs=("value",), run=lambda value: [value])
_prim("param", "the parameter or constant tensor `graph.params[name]`", inputs=0, attrs=("name",))
_prim("if", "run block0 if the bool input is true, else block1; outputs are the run block's returns",
      inputs=1, outputs=None, blocks=2)
_prim("loop", "TorchScript's prim::Loop: inputs (max_trip_count, initial_cond, *carried); the body "
      "block takes (iter, *carried) and returns (cond, *carried); outputs are the final carried values",
      inputs=None, outputs=None, blocks=1)
_prim("fused", "an elementwise sub-graph: the block's params are bound to the inputs, its returns "
      "are the outputs", inputs=None, outputs=None, blocks=1)
_prim("call", "a call of the function `name`, whose body is the block: its params are bound to the "
      "inputs, its returns are the outputs (the inline pass splices it)", inputs=None, outputs=None,
      attrs=("name",), blocks=1)
_prim("size", "tensor.size(dim) as an int", inputs=2, run=_one(_size))
_prim("list_construct", "a list of the inputs", inputs=None, run=lambda *xs: [list(xs)])
_prim("list_unpack", "the elements of a list as outputs", inputs=1, outputs=None, run=lambda xs: list(xs))
_prim("list_index", "list[i]", inputs=2, run=_one(operator.getitem))
_prim("len", "len(list) or a tensor's size(0)", inputs=1, run=_one(len))
_prim("tuple_construct", "a tuple of the inputs", inputs=None, run=lambda *xs: [tuple(xs)])
_prim("tuple_unpack", "the elements of a tuple as outputs", inputs=1, outputs=None, run=lambda xs: list(xs))
_prim("tuple_index", "tuple[index]", inputs=1, attrs=("index",), run=lambda xs, index: [xs[index]])
_prim("item", "a one-element tensor as a Python scalar", inputs=1, run=_one(lambda t: t.item()))
_prim("scalar_tensor", "a Python scalar as a 0-d tensor of `dtype`", inputs=1, attrs=("dtype",),
      run=_one(scalar_tensor))
_prim("int", "int(x) of a scalar", inputs=1, run=_one(int))
_prim("float", "float(x) of a scalar", inputs=1, run=_one(float))
_prim("bool", "bool(x) of a scalar", inputs=1, run=_one(bool))
_prim("is_none", "x is None", inputs=1, run=_one(lambda x: x is None))
_prim("unwrap_optional", "x, which must not be None", inputs=1,
      run=_one(lambda x: x if x is not None else _raise(message="unwrap_optional: the value is None")))
_prim("raise", "raise RuntimeError(message)", inputs=None, outputs=0, attrs=("message",), run=_raise, pure=False)

SCALAR_BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "floordiv": _floordiv, "mod": operator.mod, "min": min, "max": max, "pow": operator.pow,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
    "ge": operator.ge, "and": lambda a, b: a and b, "or": lambda a, b: a or b,
}
SCALAR_UNARY = {"neg": operator.neg, "not": operator.not_, "abs": abs}
COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not")

for _name, _fn in SCALAR_BINARY.items():
    _prim(_name, f"scalar {_name} of two ints/floats/bools (Python semantics)", inputs=2, run=_one(_fn))
for _name, _fn in SCALAR_UNARY.items():
    _prim(_name, f"scalar {_name} of an int/float/bool", inputs=1, run=_one(_fn))


def scalar_result_type(op: str, types: list[IRType]) -> IRType:
    """The type of a scalar `prim::` arithmetic/comparison op over `types` (Python's rules)."""
    short = op.removeprefix("prim::")
    if short in COMPARISONS:
        return BoolType()
    if short == "div" or any(isinstance(t, FloatType) for t in types):
        return FloatType()
    return IntType()


def scalar_constant_type(value) -> IRType | None:
    """The IR type of a bool, int, float, str or None (None for anything else)."""
    if isinstance(value, bool):
        return BoolType()
    if isinstance(value, int):
        return IntType()
    if isinstance(value, float):
        return FloatType()
    if isinstance(value, str):
        return StrType()
    if value is None:
        return NoneType()
    return None


def constant_type(value) -> IRType:
    """The IR type of a `prim::constant` value."""
    scalar = scalar_constant_type(value)
    if scalar is not None:
        return scalar
    if isinstance(value, list):
        return ListType(constant_type(value[0]) if value else IntType())
    if isinstance(value, tuple):
        return TupleType(tuple(constant_type(v) for v in value))
    raise TypeError(f"prim::constant: unsupported value {value!r}")

