"""Binds the op functions to `Tensor` as methods and operators (PyTorch's names)."""
from __future__ import annotations

from .ops import elementwise as E
from .ops import linalg as L
from .ops import reduction as R
from .ops import shape as S
from .ops.convert import to_tensor
from .tensor import Tensor

METHODS = {
    "add": E.add, "sub": E.sub, "mul": E.mul, "div": E.div, "neg": E.neg, "pow": E.pow,
    "exp": E.exp, "log": E.log, "sqrt": E.sqrt, "rsqrt": E.rsqrt, "abs": E.abs, "sin": E.sin,
    "cos": E.cos, "tanh": E.tanh, "sigmoid": E.sigmoid, "relu": E.relu, "sign": E.sign,
    "floor": E.floor, "trunc": E.trunc, "erf": E.erf,
    "clamp": E.clamp, "clip": E.clamp, "maximum": E.maximum, "minimum": E.minimum,
    "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le, "gt": E.gt, "ge": E.ge,
    "logical_and": E.logical_and, "logical_or": E.logical_or, "logical_xor": E.logical_xor,
    "logical_not": E.logical_not, "isnan": E.isnan,
    "sum": R.sum, "mean": R.mean, "sum_to_size": R.sum_to_size,
    "reshape": S.reshape, "view": S.view, "flatten": S.flatten, "expand": S.expand,
    "expand_as": S.expand_as, "permute": S.permute, "transpose": S.transpose, "t": S.t,
    "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm,
}

OPERATORS = {
    "__add__": E.add, "__sub__": E.sub, "__mul__": E.mul, "__truediv__": E.div,
    "__pow__": E.pow, "__matmul__": L.matmul,
    "__radd__": lambda a, b: E.add(b, a), "__rsub__": lambda a, b: E.sub(b, a),
    "__rmul__": lambda a, b: E.mul(b, a), "__rtruediv__": lambda a, b: E.div(b, a),
    "__rpow__": lambda a, b: E.pow(to_tensor(b, a), a), "__rmatmul__": lambda a, b: L.matmul(b, a),
    "__floordiv__": lambda a, b: E.div(a, b, rounding_mode="floor"),
    "__neg__": E.neg, "__abs__": E.abs,
    "__eq__": E.eq, "__ne__": E.ne, "__lt__": E.lt, "__le__": E.le, "__gt__": E.gt, "__ge__": E.ge,
    "__and__": E.bitwise_and, "__or__": E.bitwise_or, "__xor__": E.bitwise_xor,
    "__invert__": E.bitwise_not,
}


def bind(methods: dict) -> None:
    """Attach functions as Tensor methods (op modules added later call this too)."""
    for name, fn in methods.items():
        setattr(Tensor, name, fn)


bind(METHODS)
bind(OPERATORS)
Tensor.T = property(lambda self: S.permute(self, *reversed(range(self.ndim))))
Tensor.mT = property(lambda self: S.transpose(self, -2, -1))


# ---- tensor ops of issue 3: more reductions, shape ops, indexing, in-place ops -------------------
from . import creation as _C  # noqa: E402
from . import inplace as _inplace  # noqa: E402 - binds after the Tensor class is complete
from .ops import indexing as _I  # noqa: E402

bind({
    "prod": R.prod, "max": R.max, "min": R.min, "amax": R.amax, "amin": R.amin, "argmax": R.argmax,
    "argmin": R.argmin, "var": R.var, "std": R.std, "logsumexp": R.logsumexp, "cumsum": R.cumsum,
    "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "repeat": S.repeat, "split": S.split, "chunk": S.chunk,
    "narrow": S.narrow, "unbind": S.unbind, "flip": S.flip, "clone": S.clone, "contiguous": S.contiguous,
    "gather": _I.gather, "scatter": _I.scatter, "scatter_add": _I.scatter_add, "index_select": _I.index_select,
    "masked_fill": _I.masked_fill, "__getitem__": _I.getitem,
})
bind(_inplace.METHODS)
bind({
    "new_zeros": _C.new_zeros, "new_ones": _C.new_ones, "new_empty": _C.new_empty, "new_full": _C.new_full,
    "new_tensor": _C.new_tensor, "view_as": lambda self, other: S.reshape(self, other.shape),
    "reshape_as": lambda self, other: S.reshape(self, other.shape), "type_as": lambda self, other: self.to(other.dtype),
})

# NN methods (ops-nn branch)
from .ops import nn as _nn  # noqa: E402 - grouped with the bindings it feeds

bind({"softmax": _nn.softmax, "log_softmax": _nn.log_softmax})
bind({
    "any": R.any, "all": R.all, "argsort": R.argsort, "sort": R.sort, "topk": R.topk, "norm": R.norm,
    "tril": _I.tril, "triu": _I.triu, "masked_select": _I.masked_select,
})
bind({
    "unflatten": S.unflatten, "movedim": S.movedim, "moveaxis": S.movedim, "roll": S.roll,
    "swapaxes": S.transpose, "swapdims": S.transpose, "nonzero": _I.nonzero,
})
