"""Shape/dtype rules shared by many registry rows (symbolic dims are strings such as "N")."""
from __future__ import annotations

from ..dtypes import DType, bool_
from ..errors import OpError
from .registry import Spec


def broadcast_shapes(op: str, *shapes) -> tuple:
    """NumPy/PyTorch broadcasting over shapes whose dims may be symbols."""
    ndim = max(len(s) for s in shapes)
    out = []
    for dims in zip(*((1,) * (ndim - len(s)) + tuple(s) for s in shapes)):
        chosen = 1
        for d in dims:
            if d == 1:
                continue
            if chosen == 1:
                chosen = d
            elif d != chosen and isinstance(d, int) and isinstance(chosen, int):
                raise OpError(op, "shapes " + " and ".join(str(tuple(s)) for s in shapes)
                              + " cannot be broadcast together")
        out.append(chosen)
    return tuple(out)


def same_as_first(*specs, **attrs) -> Spec:
    """The output has the first input's dtype and shape."""
    return specs[0]


def elementwise(name: str, out_dtype: DType | None = None, dtype_from: int = 0):
    """Rule for a broadcasting elementwise op: the result dtype is `out_dtype` (e.g. bool) or
    that of input `dtype_from` (the dispatcher has already promoted the inputs)."""

    def rule(*specs, **attrs) -> Spec:
        shape = broadcast_shapes(name, *(s.shape for s in specs))
        return Spec(out_dtype or specs[dtype_from].dtype, shape)

    return rule


def comparison(name: str):
    return elementwise(name, bool_)


def normalize_dim(op: str, dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) made non-negative, or an OpError naming the op."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise OpError(op, f"dim {dim} is out of range for a tensor of {ndim} dimensions")
    return dim % max(ndim, 1)
