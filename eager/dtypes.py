"""dtypes and PyTorch's type-promotion rules.

A `DType` wraps a NumPy dtype (CuPy uses the same dtype objects).  Promotion follows
PyTorch: categories bool < integer < floating; within a category the wider type wins,
and Python scalars are "weak" (they never widen a tensor within its category).
"""
from __future__ import annotations

import numpy as np


class DType:
    """A tensor element type, e.g. `eager.float32`."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "category")

    def __init__(self, name: str, np_dtype: np.dtype, category: int) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.category = category  # 0 bool, 1 integer, 2 floating

    def __repr__(self) -> str:
        return f"eager.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


bool_ = DType("bool", np.bool_, 0)
int32 = DType("int32", np.int32, 1)
int64 = DType("int64", np.int64, 1)
float32 = DType("float32", np.float32, 2)
float64 = DType("float64", np.float64, 2)

ALL = (bool_, int32, int64, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "long": int64, "int": int32})

default_float = float32
default_int = int64


def from_name(name: str) -> DType:
    """Look a dtype up by its name ("float32", "int64", "bool", ...)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise TypeError(f"unknown dtype {name!r}; expected one of {sorted(_BY_NAME)}") from None


def from_numpy(np_dtype) -> DType:
    """Map a NumPy dtype to ours, narrowing float16 / other ints to the nearest supported."""
    d = _BY_NP.get(np.dtype(np_dtype))
    if d is not None:
        return d
    kind = np.dtype(np_dtype).kind
    if kind == "f":
        return float32 if np.dtype(np_dtype).itemsize <= 4 else float64
    if kind in "iu":
        return int64
    raise TypeError(f"unsupported array dtype {np.dtype(np_dtype)}")


def to_dtype(d) -> DType:
    """Accept a DType, a name, a NumPy dtype or a Python type."""
    if isinstance(d, DType):
        return d
    if d is float:
        return float32
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        return from_name(d)
    return from_numpy(d)


def _wider(a: DType, b: DType) -> DType:
    if a.category != b.category:
        return a if a.category > b.category else b
    return a if a.itemsize >= b.itemsize else b


def scalar_category(value) -> int:
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    return 2


def promote(dtypes: list[DType], scalars: list = ()) -> DType:
    """Result dtype of an op over tensors of `dtypes` and Python `scalars` (PyTorch rules)."""
    result = dtypes[0]
    for d in dtypes[1:]:
        result = _wider(result, d)
    for s in scalars:
        cat = scalar_category(s)
        if cat > result.category:
            result = default_float if cat == 2 else default_int
    return result
