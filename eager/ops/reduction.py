"""Reductions: sum, mean, ... over dims (None: all), with `keepdim`."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

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


# NumPy dtype -> the dtype sum-like ops accumulate in when it differs (bool and ints: int64)
_WIDENED_NP = {d.np: _sum_dtype(d).np for d in _dt.ALL if _sum_dtype(d) is not d}


def expand_back(g, c):
    """Broadcast a reduced gradient back over the input's shape (VJP of sum-like ops)."""
    from .shape import expand, reshape

    shape, dims = c.inputs[0].shape, c.attrs["dim"]
    if not c.attrs["keepdim"]:
        g = reshape(g, reduced_shape(shape, dims, True))
    return expand(g, shape)


SUM = register(OpDef(
    "sum", forward=lambda xp, a, dim, keepdim: a.sum(axis=dim, keepdims=keepdim, dtype=_WIDENED_NP.get(a.dtype)),
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


# ---- prod, amax/amin, argmax/argmin, var, logsumexp, cumsum ----------------------------------------
def _prod_vjp(c, g):
    """d prod / d x_i = prod / x_i, or, at the single zero of a slice, the product of the others.

    Written so that the second derivative is right too wherever a slice has at most one zero."""
    from .elementwise import where

    x, dim = c.inputs[0], c.attrs["dim"]
    is_zero = x == 0
    nonzero = where(is_zero, 1.0, x)
    zeros = sum(is_zero, dim, keepdim=True)
    others = _expand(prod(nonzero, dim, keepdim=True), x.shape)
    grad = where(is_zero, where(zeros == 1, others, 0.0), expand_back(c.out(), c) / nonzero)
    return expand_back(g, c) * grad


PROD = register(OpDef(
    "prod", forward=lambda xp, a, dim, keepdim: a.prod(axis=dim, keepdims=keepdim, dtype=_WIDENED_NP.get(a.dtype)),
    infer=reduction_rule(_sum_dtype), attrs=("dim", "keepdim"), smooth=True, vjp=_prod_vjp))


def _extreme_vjp(c, g):
    """Gradient of amax/amin: shared evenly between the elements equal to the extreme (PyTorch)."""
    x = c.inputs[0]
    hit = (x == expand_back(c.out(), c)).to(g.dtype)
    count = sum(hit, c.attrs["dim"], keepdim=True)
    return expand_back(g, c) * hit / count


AMAX = register(OpDef(
    "amax", forward=lambda xp, a, dim, keepdim: xp.amax(a, axis=dim, keepdims=keepdim),
    infer=reduction_rule(), attrs=("dim", "keepdim"), vjp=_extreme_vjp))
AMIN = register(OpDef(
    "amin", forward=lambda xp, a, dim, keepdim: xp.amin(a, axis=dim, keepdims=keepdim),
    infer=reduction_rule(), attrs=("dim", "keepdim"), vjp=_extreme_vjp))


def _arg_forward(fn):
    def forward(xp, a, dim, keepdim):
        if dim is None:
            out = fn(xp, a.reshape(-1), 0)
            return out.reshape((1,) * a.ndim) if keepdim else out
        out = fn(xp, a, dim)
        return xp.expand_dims(out, dim) if keepdim else out
    return forward


def _arg_infer(a, dim, keepdim):
    if dim is None:
        return Spec(_dt.int64, (1,) * len(a.shape) if keepdim else ())
    return Spec(_dt.int64, reduced_shape(a.shape, (dim,), keepdim))


ARGMAX = register(OpDef(
    "argmax", forward=_arg_forward(lambda xp, a, d: xp.argmax(a, axis=d).astype(xp.int64)),
    infer=_arg_infer, attrs=("dim", "keepdim")))
ARGMIN = register(OpDef(
    "argmin", forward=_arg_forward(lambda xp, a, d: xp.argmin(a, axis=d).astype(xp.int64)),
    infer=_arg_infer, attrs=("dim", "keepdim")))


def _dof(n: int, correction: int):
    """Degrees of freedom n - correction; at or below zero the variance is inf or nan, as PyTorch."""
    return n - correction if n > correction else 0.0


def _var_forward(xp, a, dim, correction, keepdim):
    n = _count(a.shape, dim)
    centered = a - a.mean(axis=dim, keepdims=True)
    out = (centered * centered).sum(axis=dim, keepdims=keepdim) / _dof(n, correction)
    return out.astype(a.dtype, copy=False)


def _var_vjp(c, g):
    x, dim = c.inputs[0], c.attrs["dim"]
    n = _count(x.shape, dim)
    centered = x - mean(x, dim, keepdim=True)
    return expand_back(g, c) * centered * 2.0 / _dof(n, c.attrs["correction"])


VAR = register(OpDef(
    "var", forward=_var_forward, vjp=_var_vjp, smooth=True, attrs=("dim", "correction", "keepdim"),
    infer=lambda a, dim, correction, keepdim: Spec(a.dtype, reduced_shape(a.shape, dim, keepdim))))


def _logsumexp_forward(xp, a, dim, keepdim):
    top = xp.amax(a, axis=dim, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)  # all -inf (or inf) slices: no shift
    with np.errstate(divide="ignore"):  # log(0) = -inf for all -inf slices, as PyTorch, silently
        out = xp.log(xp.sum(xp.exp(a - top), axis=dim, keepdims=True)) + top
    return (out if keepdim else xp.squeeze(out, axis=dim)).astype(a.dtype, copy=False)


def _logsumexp_vjp(c, g):
    from .elementwise import exp

    x = c.inputs[0]
    return expand_back(g, c) * exp(x - expand_back(c.out(), c))


LOGSUMEXP = register(OpDef(
    "logsumexp", forward=_logsumexp_forward, vjp=_logsumexp_vjp, smooth=True, attrs=("dim", "keepdim"),
    infer=reduction_rule()))


def _cumsum_forward(xp, a, dim):
    return a.cumsum(axis=dim, dtype=_WIDENED_NP.get(a.dtype))


def _cumsum_vjp(c, g):
    dim = c.attrs["dim"]
    # the reverse cumulative sum: sum over j >= i of g_j
    return sum(g, dim, keepdim=True) - cumsum(g, dim) + g


CUMSUM = register(OpDef(
    "cumsum", forward=_cumsum_forward, vjp=_cumsum_vjp, smooth=True, attrs=("dim",), needs_input_values=False,
    infer=lambda a, dim: Spec(_sum_dtype(a.dtype), a.shape)))


# ---- public functions -------------------------------------------------------------------------------
def _reduce(op, input, dim, keepdim):
    return apply(op, (input,), {"dim": dims_of(op.name, dim, input.ndim), "keepdim": bool(keepdim)})


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Product over `dim` (all elements when None); integer and bool inputs give int64."""
    if dtype is not None:
        input = input.to(dtype)
    return _reduce(PROD, input, dim, keepdim)


def amax(input, dim=(), keepdim: bool = False):
    """Maximum over `dim` (all dims when empty or None); ties share the gradient."""
    return _reduce(AMAX, input, None if dim == () else dim, keepdim)


def amin(input, dim=(), keepdim: bool = False):
    """Minimum over `dim` (all dims when empty or None); ties share the gradient."""
    return _reduce(AMIN, input, None if dim == () else dim, keepdim)


def _arg(op, input, dim, keepdim):
    if dim is not None:
        dim = normalize_dim(op.name, dim, input.ndim)
    if input.ndim == 0:
        dim = None
    return apply(op, (input,), {"dim": dim, "keepdim": bool(keepdim)})


def argmax(input, dim: int | None = None, keepdim: bool = False):
    """Index of the maximum over `dim`, or into the flattened tensor when `dim` is None."""
    return _arg(ARGMAX, input, dim, keepdim)


def argmin(input, dim: int | None = None, keepdim: bool = False):
    """Index of the minimum over `dim`, or into the flattened tensor when `dim` is None."""
    return _arg(ARGMIN, input, dim, keepdim)


MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _extreme(op, arg_op, result_type, input, dim, keepdim):
    from .convert import to_tensor
    from .elementwise import maximum, minimum

    if dim is None:
        return _reduce(op, input, None, False)
    if not isinstance(dim, int):  # max(a, b): the elementwise form
        other = to_tensor(dim, input)
        return maximum(input, other) if op is AMAX else minimum(input, other)
    indices = _arg(arg_op, input, dim, True)
    from .indexing import gather
    from .shape import squeeze

    values = gather(input, dim, indices)
    if not keepdim:
        values, indices = squeeze(values, dim), squeeze(indices, dim)
    return result_type(values, indices)


def max(input, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """max(x): the largest element; max(x, dim): (values, indices); max(x, y): elementwise maximum."""
    return _extreme(AMAX, ARGMAX, MaxResult, input, dim, keepdim)


def min(input, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """min(x): the smallest element; min(x, dim): (values, indices); min(x, y): elementwise minimum."""
    return _extreme(AMIN, ARGMIN, MinResult, input, dim, keepdim)


def var(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """Variance over `dim` with Bessel's `correction` (1 by default; `unbiased=False` means 0)."""
    if isinstance(dim, bool):  # var(x, unbiased): PyTorch's older overload
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not input.dtype.is_floating_point:
        from ..errors import OpError

        raise OpError("var", f"needs a floating point input, got {input.dtype}")
    return apply(VAR, (input,), {"dim": dims_of("var", dim, input.ndim), "correction": correction,
                                 "keepdim": bool(keepdim)})


def std(input, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """Standard deviation: sqrt(var(...)) with the same arguments."""
    from .elementwise import sqrt

    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(input), dim)), computed without overflow."""
    return _reduce(LOGSUMEXP, input, dim, keepdim)


def cumsum(input, dim: int, *, dtype=None):
    """Running sum along `dim`; integer and bool inputs give int64."""
    if dtype is not None:
        input = input.to(dtype)
    return apply(CUMSUM, (input,), {"dim": normalize_dim("cumsum", dim, input.ndim)})


# ---- any/all, argsort (sort, topk), norm -----------------------------------------------------------
# any, all and argsort have no C kernel yet (exportable=False: the exporter refuses them by name)
def _bool_reduction(name, fn):
    return register(OpDef(
        name, forward=lambda xp, a, dim, keepdim: fn(xp, a, dim, keepdim), attrs=("dim", "keepdim"), exportable=False,
        infer=lambda a, dim, keepdim: Spec(_dt.bool_, reduced_shape(a.shape, dim, keepdim))))


ANY = _bool_reduction("any", lambda xp, a, dim, keepdim: xp.any(a, axis=dim, keepdims=keepdim))
ALL = _bool_reduction("all", lambda xp, a, dim, keepdim: xp.all(a, axis=dim, keepdims=keepdim))


def any(input, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """True where any element over `dim` (all dims when None) is nonzero."""
    return _reduce(ANY, input, dim, keepdim)


def all(input, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """True where every element over `dim` (all dims when None) is nonzero."""
    return _reduce(ALL, input, dim, keepdim)


def _argsort_forward(xp, a, dim, descending):
    # a stable sort of the negated values keeps ties in their original order when descending too
    keys = (~a if a.dtype == bool else -a) if descending else a
    return xp.argsort(keys, axis=dim, kind="stable").astype(xp.int64, copy=False)


ARGSORT = register(OpDef(
    "argsort", forward=_argsort_forward, attrs=("dim", "descending"), exportable=False,
    infer=lambda a, dim, descending: Spec(_dt.int64, a.shape)))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices that sort `input` along `dim` (ties keep their order: the sort is stable)."""
    return apply(ARGSORT, (input,), {"dim": normalize_dim("argsort", dim, input.ndim),
                                     "descending": bool(descending)})


SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) of `input` sorted along `dim`; the gradient follows the values."""
    from .indexing import gather

    indices = argsort(input, dim, descending)
    return SortResult(gather(input, dim, indices), indices)


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """(values, indices) of the `k` largest (or smallest) entries along `dim`, in order."""
    from .indexing import gather
    from .shape import narrow

    indices = narrow(argsort(input, dim, descending=largest), dim, 0, k)
    return TopkResult(gather(input, dim, indices), indices)


def norm(input, p="fro", dim=None, keepdim: bool = False):
    """The vector p-norm over `dim` (all elements when None): p = 2 or "fro", 1, inf, or any number."""
    from .elementwise import abs as abs_
    from .elementwise import sqrt

    if p in ("fro", 2):
        return sqrt(sum(input * input, dim, keepdim))
    if p == 1:
        return sum(abs_(input), dim, keepdim)
    if p == float("inf"):
        return amax(abs_(input), () if dim is None else dim, keepdim)
    return sum(abs_(input) ** p, dim, keepdim) ** (1.0 / p)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when |input - other| <= atol + rtol * |other| everywhere (broadcasting), as PyTorch."""
    input._escape("allclose()")
    return bool(np.allclose(input.detach().numpy(), other.detach().numpy(), rtol, atol, equal_nan))


def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same values."""
    from .elementwise import eq

    return tuple(input.shape) == tuple(other.shape) and bool(all(eq(input, other)))
