"""Tensor creation: `tensor`, `zeros`, `ones`, `full`, `arange`, `linspace`, `eye`, `*_like`, ..."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .backend import device_of, normalize_device, to_device, xp_for
from .ops import dispatch as _dispatch
from .tensor import Tensor


def _infer_dtype(data) -> _dt.DType:
    if isinstance(data, Tensor):
        return data.dtype
    if hasattr(data, "dtype"):
        return _dt.from_numpy(data.dtype)
    arr = np.asarray(data)
    if arr.dtype.kind == "f":
        return _dt.default_float
    if arr.dtype.kind in "iu":
        return _dt.default_int
    if arr.dtype.kind == "b":
        return _dt.bool_
    raise TypeError(f"cannot make a tensor from {type(data).__name__} with dtype {arr.dtype}")


def as_array(data, dtype=None, device=None):
    """A fresh array on `device` holding `data` (nested lists, scalars, arrays or tensors)."""
    if isinstance(data, Tensor):
        data = data.data
    dt = _dt.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    dev = normalize_device(device) if device is not None else (
        device_of(data) if hasattr(data, "__cuda_array_interface__") else "cpu")
    if hasattr(data, "__cuda_array_interface__") and dev == "cpu":
        data = to_device(data, "cpu")
    arr = xp_for(dev).array(data, dtype=dt.np)
    return arr


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor copying `data`; float data defaults to float32, ints to int64."""
    t = Tensor(data, dtype, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (its dtype kept)."""
    _dt.from_numpy(array.dtype)  # validates
    return Tensor._wrap(array if array.dtype in _SUPPORTED_NP else array.astype(_dt.from_numpy(array.dtype).np))


_SUPPORTED_NP = {d.np for d in _dt.ALL}


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _filled(fill, size, dtype, device, requires_grad) -> Tensor:
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.default_float
    xp = xp_for(normalize_device(device))
    t = Tensor._wrap(xp.full(_shape(size), fill, dtype=dt.np))
    dims = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    if _dispatch.TRACERS and any(hasattr(d, "_ir_value") for d in dims):  # a traced size: stay dynamic
        _dispatch.TRACERS[-1].filled(t, fill, dims)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*shape, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size."""
    return _filled(0, shape if size is None else (size,), dtype, device, requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size."""
    return _filled(1, shape if size is None else (size,), dtype, device, requires_grad)


def empty(*shape, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (zero-filled here: NumPy's empty is not faster enough to matter)."""
    return _filled(0, shape if size is None else (size,), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with `fill_value`; the dtype follows the value when not given."""
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device,
                   requires_grad)


def _like(t: Tensor, dtype, device):
    return (dtype if dtype is not None else t.dtype), (device if device is not None else t.device.type)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros with `t`'s shape, dtype and device."""
    dtype, device = _like(t, dtype, device)
    return zeros(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones with `t`'s shape, dtype and device."""
    dtype, device = _like(t, dtype, device)
    return ones(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor like `t`."""
    return zeros_like(t, dtype, device, requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """`fill_value` everywhere, with `t`'s shape, dtype and device."""
    dtype, device = _like(t, dtype, device)
    return full(t.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from `start` to `end` (exclusive) by `step`; int64 unless a bound is a float."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = _dt.default_float if any(isinstance(v, float) for v in (start, end, step)) else _dt.int64
    xp = xp_for(normalize_device(device))
    t = Tensor._wrap(xp.arange(start, end, step).astype(_dt.to_dtype(dtype).np))
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from `start` to `end` inclusive."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.default_float
    xp = xp_for(normalize_device(device))
    t = Tensor._wrap(xp.linspace(start, end, steps).astype(dt.np))
    return t.requires_grad_(True) if requires_grad else t


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix."""
    dt = _dt.to_dtype(dtype) if dtype is not None else _dt.default_float
    xp = xp_for(normalize_device(device))
    t = Tensor._wrap(xp.eye(n, m, dtype=dt.np))
    return t.requires_grad_(True) if requires_grad else t


# ---- Tensor.new_* (same dtype and device as the tensor unless given) --------------------------------
def _new_kwargs(t: Tensor, dtype, device, requires_grad: bool) -> dict:
    dtype, device = _like(t, dtype, device)
    return {"dtype": dtype, "device": device, "requires_grad": requires_grad}


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of `size` with this tensor's dtype and device."""
    return zeros(*size, **_new_kwargs(self, dtype, device, requires_grad))


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of `size` with this tensor's dtype and device."""
    return ones(*size, **_new_kwargs(self, dtype, device, requires_grad))


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of `size` with this tensor's dtype and device."""
    return empty(*size, **_new_kwargs(self, dtype, device, requires_grad))


def new_full(self: Tensor, size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """`fill_value` everywhere, with this tensor's dtype and device."""
    return full(size, fill_value, **_new_kwargs(self, dtype, device, requires_grad))


def new_tensor(self: Tensor, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of `data` with this tensor's dtype and device unless given."""
    return tensor(data, **_new_kwargs(self, dtype, device, requires_grad))


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, without a copy when it already is one of that dtype and device."""
    if isinstance(data, Tensor) and (dtype is None or _dt.to_dtype(dtype) is data.dtype) and (
            device is None or normalize_device(device) == data.device.type):
        return data
    if isinstance(data, np.ndarray) and device in (None, "cpu") and (dtype is None or _dt.to_dtype(dtype).np
                                                                     == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)
