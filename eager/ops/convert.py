"""Turning op arguments into tensors of a common dtype (PyTorch promotion, weak scalars)."""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..backend import xp_of
from . import dispatch


def scalar_tensor(value, dtype: _dt.DType, like_array):
    """A 0-d tensor holding a Python scalar, on the device of `like_array`."""
    from ..tensor import Tensor

    if like_array is None or isinstance(like_array, np.ndarray):
        t = Tensor._wrap(np.asarray(value, dtype=dtype.np))
    else:
        t = Tensor._wrap(xp_of(like_array).asarray(value, dtype=dtype.np))
    if hasattr(value, "_ir_value") and dispatch.TRACERS:  # a traced size: keep it an IR value
        dispatch.TRACERS[-1].scalar_tensor_of(t, value)
    return t


def promote_operands(*args):
    """Tensors for `args` (tensors or Python scalars; None passes through), all of one dtype."""
    Tensor = dispatch.Tensor
    if len(args) == 2:  # the common cases first: they run on every binary operator
        fast = _promote_pair(Tensor, *args)
        if fast is not None:
            return fast
    from .elementwise import cast

    tensors = [a for a in args if isinstance(a, Tensor)]
    scalars = [a for a in args if a is not None and not isinstance(a, Tensor)]
    if not tensors:
        dtype = _dt.promote([_dt.to_dtype(type(scalars[0]) if not isinstance(scalars[0], np.generic)
                                          else scalars[0].dtype)], scalars)
        return tuple(scalar_tensor(a, dtype, None) if a is not None else None for a in args)
    first = tensors[0].data.dtype
    if not scalars and all(t.data.dtype is first for t in tensors):
        return args
    dtype = _dt.promote([t.dtype for t in tensors], scalars)
    like = tensors[0].data
    out = []
    for a in args:
        if a is None:
            out.append(None)
        elif not isinstance(a, Tensor):
            out.append(scalar_tensor(a, dtype, like))
        elif a.dtype is not dtype:
            out.append(cast(a, dtype))
        else:
            out.append(a)
    return tuple(out)


def _promote_pair(Tensor, a, b):
    """Two tensors of one dtype, or a cpu tensor and a Python number that does not widen it
    (PyTorch's weak scalars); None for every other case."""
    ta, tb = type(a) is Tensor, type(b) is Tensor
    if ta and tb:
        return (a, b) if a.data.dtype is b.data.dtype else None
    if ta == tb:
        return None
    t, s = (a, b) if ta else (b, a)
    array = t.data
    kind = type(s)
    if type(array) is not np.ndarray or not (kind is float or kind is int):
        return None
    if array.dtype.kind != "f" and not (kind is int and array.dtype.kind in "iu"):
        return None
    scalar = Tensor._wrap(np.asarray(s, dtype=array.dtype))
    return (t, scalar) if ta else (scalar, t)


def to_tensor(value, like=None):
    """`value` as a tensor (a Python scalar becomes a 0-d tensor in the default dtype)."""
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        dtype = _dt.promote([_dt.bool_], [value])
        return scalar_tensor(value, dtype, like.data if like is not None else None)
    return Tensor(value, device=like.device.type if like is not None else None)
