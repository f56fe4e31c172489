"""Shape and layout ops: reshape, expand, permute, transpose, ... and device moves."""
from __future__ import annotations

from ..backend import device_of
from ..backend import to_device as _move_array
from ..errors import OpError
from .dispatch import apply
from .registry import OpDef, Spec, register
from .rules import normalize_dim


def infer_reshape(op: str, in_shape: tuple, shape: tuple) -> tuple:
    """`shape` with a -1 resolved against `in_shape` (ints only; symbols pass through)."""
    shape = tuple(shape)
    if -1 not in shape:
        return shape
    if shape.count(-1) > 1:
        raise OpError(op, f"only one dimension can be -1, got {shape}")
    known = 1
    for d in shape:
        if d != -1:
            known *= d
    total = 1
    for d in in_shape:
        total *= d
    if isinstance(total, int) and isinstance(known, int):
        if known == 0 or total % known:
            raise OpError(op, f"shape {shape} is invalid for input of shape {tuple(in_shape)}")
        return tuple(total // known if d == -1 else d for d in shape)
    return tuple("?" if d == -1 else d for d in shape)


def _reshape_forward(xp, a, shape):
    try:
        return a.reshape(shape)
    except ValueError:
        raise OpError("reshape", f"shape {tuple(shape)} is invalid for input of shape {a.shape} "
                      f"({a.size} elements)") from None


RESHAPE = register(OpDef(
    "reshape", forward=_reshape_forward, attrs=("shape",), needs_input_values=False, smooth=True,
    infer=lambda a, shape: Spec(a.dtype, infer_reshape("reshape", a.shape, shape)),
    vjp=lambda c, g: reshape(g, c.inputs[0].shape), extra={"view": True}))


def _expand_forward(xp, a, shape):
    return xp.broadcast_to(a, shape)


def _expand_infer(a, shape):
    lead = len(shape) - len(a.shape)
    if lead < 0:
        raise OpError("expand", f"cannot expand shape {a.shape} to fewer dims {tuple(shape)}")
    out = tuple(a.shape[i - lead] if d == -1 else d for i, d in enumerate(shape))
    for i, d in enumerate(a.shape):
        if d != 1 and d != out[lead + i] and isinstance(d, int) and isinstance(out[lead + i], int):
            raise OpError("expand", f"cannot expand shape {a.shape} to {tuple(shape)}")
    return Spec(a.dtype, out)


EXPAND = register(OpDef(
    "expand", forward=_expand_forward, infer=_expand_infer, attrs=("shape",), needs_input_values=False,
    smooth=True, vjp=lambda c, g: _sum_to(g, c.inputs[0].shape), extra={"view": True}))


def _sum_to(g, shape):
    from .reduction import sum_to_size

    return sum_to_size(g, shape)


PERMUTE = register(OpDef(
    "permute", forward=lambda xp, a, dims: xp.transpose(a, dims), attrs=("dims",), smooth=True,
    needs_input_values=False,
    infer=lambda a, dims: Spec(a.dtype, tuple(a.shape[d] for d in dims)),
    vjp=lambda c, g: permute(g, _inverse(c.attrs["dims"])), extra={"view": True}))


def _inverse(dims):
    inv = [0] * len(dims)
    for i, d in enumerate(dims):
        inv[d] = i
    return tuple(inv)


TO_DEVICE = register(OpDef(
    "to_device", forward=lambda xp, a, device: _move_array(a, device), attrs=("device",),
    infer=lambda a, device: a, exportable=False, needs_input_values=False, smooth=True,
    vjp=lambda c, g: to_device(g, device_of(c.inputs[0].data))))


# ---- public functions --------------------------------------------------------------------------
def _size_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) if not hasattr(s, "_ir_value") else s for s in shape)


def reshape(input, *shape):
    """The same data with a new shape (one dim may be -1)."""
    shape = _size_args(shape)
    return apply(RESHAPE, (input,), {"shape": infer_reshape("reshape", input.shape, shape)})


def view(input, *shape):
    """As `reshape` (NumPy decides whether a copy is needed)."""
    return reshape(input, *shape)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims start_dim..end_dim into one."""
    if input.ndim == 0:
        return reshape(input, 1)
    s = normalize_dim("flatten", start_dim, input.ndim)
    e = normalize_dim("flatten", end_dim, input.ndim)
    shape = input.shape
    return reshape(input, shape[:s] + (-1,) + shape[e + 1:])


def expand(input, *shape):
    """Broadcast to a larger shape without copying (-1 keeps a dim)."""
    shape = _size_args(shape)
    spec = _expand_infer(Spec(input.dtype, input.shape), shape)
    return apply(EXPAND, (input,), {"shape": spec.shape})


def expand_as(input, other):
    return expand(input, other.shape)


def permute(input, *dims):
    """Reorder dims."""
    dims = tuple(normalize_dim("permute", d, input.ndim) for d in _size_args(dims))
    if sorted(dims) != list(range(input.ndim)):
        raise OpError("permute", f"dims {dims} are not a permutation of {input.ndim} dims")
    return apply(PERMUTE, (input,), {"dims": dims})


def transpose(input, dim0: int, dim1: int):
    """Swap two dims."""
    dims = list(range(input.ndim))
    a, b = normalize_dim("transpose", dim0, input.ndim), normalize_dim("transpose", dim1, input.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return apply(PERMUTE, (input,), {"dims": tuple(dims)})


def t(input):
    """Transpose of a matrix (0-d and 1-d tensors are returned as they are)."""
    if input.ndim > 2:
        raise OpError("t", f"expects a tensor of at most 2 dims, got shape {input.shape}")
    return input if input.ndim < 2 else transpose(input, 0, 1)


def to_device(input, device: str):
    """Move to "cpu" or "cuda" (differentiable)."""
    return apply(TO_DEVICE, (input,), {"device": device})
