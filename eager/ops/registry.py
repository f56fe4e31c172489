"""The op registry: every operator is declared here once, with everything the stack needs.

An `OpDef` row carries:
- `forward(xp, *arrays, **attrs)`: the kernel, written against the array module `xp`
  (NumPy or CuPy), returning an array or a tuple of arrays;
- `vjp(ctx, *grads)`: the vector-Jacobian product written with *eager ops* (so a
  `create_graph=True` backward is itself differentiable); it returns one gradient (or
  None) per tensor input;
- `infer(*specs, **attrs)`: the shape/dtype rule over `Spec`s (symbolic dims are strings);
  IR type inference uses it and the C runtime mirrors it;
- `reference`: an independent NumPy implementation for tests (None: `forward` with NumPy
  is the reference, e.g. for ops that are one NumPy call).

`extra` holds optional, op-family specific facts; the dispatcher reads `view` (the output is a
view of input 0: they share memory and a version counter), `may_copy` (a view op that
sometimes copies, such as reshape) and the in-place machinery reads `unview` (see
eager/inplace.py).

The eager dispatcher, the tracer, the script compiler, the IR interpreter and the
serializer all read this table; nothing else lists ops.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..dtypes import DType


class Spec(NamedTuple):
    """The static type of a tensor: dtype and shape; a dim is an int or a symbol like "N"."""

    dtype: DType
    shape: tuple


@dataclass(frozen=True)
class OpDef:
    """One registry row (see the module docstring)."""

    name: str
    forward: Callable
    infer: Callable
    vjp: Callable | None = None
    reference: Callable | None = None
    num_outputs: int = 1
    elementwise: bool = False  # may join a `fused` elementwise group
    exportable: bool = True  # the C runtime must implement it
    smooth: bool = False  # twice differentiable: second-order gradcheck applies
    needs_input_values: bool = True  # the VJP reads inputs (version-checked at backward)
    attrs: tuple = ()  # attribute names, in order (the IR verifier checks them)
    optional_attrs: tuple = ()  # those of `attrs` a node may leave out (the forward's default applies)
    doc: str = ""
    extra: dict = field(default_factory=dict)


REGISTRY: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    """Add a row; an op name may be registered once."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} is registered twice")
    REGISTRY[op.name] = op
    return op


def get(name: str) -> OpDef:
    """The row for `name`, or a KeyError that lists what exists."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; the registry has {len(REGISTRY)} ops") from None
