"""Reductions: sum, mean, ... over dims (None: all), with `keepdim`."""
from __future__ import annotations

from .. import dtypes as _dt
from .dispatch import apply
from .registry import OpDef, Spec, register
from .rules import normalize_dim


def dims_of(op: str, dim, ndim: int) -> tuple:
    """`dim` (None, an int or a sequence) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(sorted(normalize_dim(op, d, ndim) for d in dim))


def reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def reduction_rule(dtype_rule=None):
    def rule(a, dim, keepdim):
        return Spec(dtype_rule(a.dtype) if dtype_rule else a.dtype, reduced_shape(a.shape, dim, keepdim))

    return rule


def _sum_dtype(d):
    return _dt.int64 if d.category < 2 else d


def expand_back(g, c):
    """Broadcast a reduced gradient back over the input's shape (VJP of sum-like ops)."""
    from .shape import expand, reshape

    shape, dims = c.inputs[0].shape, c.attrs["dim"]
    if not c.attrs["keepdim"]:
        g = reshape(g, reduced_shape(shape, dims, True))
    return expand(g, shape)


SUM = register(OpDef(
    "sum", forward=lambda xp, a, dim, keepdim: xp.sum(a, axis=dim, keepdims=keepdim,
                                                     dtype=_sum_dtype(_dt.from_numpy(a.dtype)).np),
    infer=reduction_rule(_sum_dtype), attrs=("dim", "keepdim"), smooth=True, needs_input_values=False,
    vjp=lambda c, g: expand_back(g, c)))
MEAN = register(OpDef(
    "mean", forward=lambda xp, a, dim, keepdim: xp.mean(a, axis=dim, keepdims=keepdim).astype(a.dtype),
    infer=reduction_rule(), attrs=("dim", "keepdim"), smooth=True, needs_input_values=False,
    vjp=lambda c, g: expand_back(g, c) / _count(c.inputs[0].shape, c.attrs["dim"])))


def _count(shape, dims) -> int:
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _sum_to_size_forward(xp, a, shape):
    lead = a.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and a.shape[lead + i] != 1)
    out = xp.sum(a, axis=axes, keepdims=True) if axes else a
    return out.reshape(shape)


SUM_TO_SIZE = register(OpDef(
    "sum_to_size", forward=_sum_to_size_forward, attrs=("shape",), exportable=False, smooth=True,
    infer=lambda a, shape: Spec(a.dtype, tuple(shape)), needs_input_values=False,
    vjp=lambda c, g: _expand(g, c.inputs[0].shape)))


def _expand(g, shape):
    from .shape import expand

    return expand(g, shape)


def sum(input, dim=None, keepdim: bool = False, *, dtype=None):  # noqa: A001 - PyTorch's name
    """Sum over `dim` (all dims when None); integer and bool inputs sum to int64."""
    out = apply(SUM, (input,), {"dim": dims_of("sum", dim, input.ndim), "keepdim": bool(keepdim)})
    return out if dtype is None else out.to(dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Mean over `dim` (all dims when None); needs a floating dtype, as in PyTorch."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        from ..errors import OpError

        raise OpError("mean", f"needs a floating point input, got {input.dtype}; use .float() first")
    return apply(MEAN, (input,), {"dim": dims_of("mean", dim, input.ndim), "keepdim": bool(keepdim)})


def sum_to_size(input, *size):
    """Sum broadcast dims away so the result has shape `size` (the VJP of broadcasting)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)
    return apply(SUM_TO_SIZE, (input,), {"shape": shape})
