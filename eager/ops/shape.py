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


def _reshape_to_base(base, view_value, attrs):
    """The base of a reshape-like view, given a new value for the view (for in-place ops)."""
    return reshape(view_value, base.shape)


_RESHAPE_VIEW = {"view": True, "unview": _reshape_to_base}
# NumPy's reshape copies when the strides do not allow a view (e.g. flattening a transpose)
_RESHAPE_MAYBE_VIEW = dict(_RESHAPE_VIEW, may_copy=True)


def _reshape_forward(xp, a, shape):
    try:
        return a.reshape(shape)
    except ValueError:
        raise OpError("reshape", f"shape {tuple(shape)} is invalid for input of shape {a.shape} "
                      f"({a.size} elements)") from None


RESHAPE = register(OpDef(
    "reshape", forward=_reshape_forward, attrs=("shape",), needs_input_values=False, smooth=True,
    infer=lambda a, shape: Spec(a.dtype, infer_reshape("reshape", a.shape, shape)),
    vjp=lambda c, g: reshape(g, c.inputs[0].shape), extra=_RESHAPE_MAYBE_VIEW))


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
    vjp=lambda c, g: permute(g, _inverse(c.attrs["dims"])),
    extra={"view": True, "unview": lambda base, v, attrs: permute(v, _inverse(attrs["dims"]))}))


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


# ---- squeeze, unsqueeze, repeat, cat, flip, clone --------------------------------------------------
def squeezed_shape(shape: tuple, dims: tuple) -> tuple:
    """`shape` without the size-1 dims listed in `dims` (other listed dims are kept, as PyTorch)."""
    return tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))


SQUEEZE = register(OpDef(
    "squeeze", forward=lambda xp, a, dims: a.reshape(squeezed_shape(a.shape, dims)), attrs=("dims",),
    needs_input_values=False, smooth=True, extra=_RESHAPE_VIEW,
    infer=lambda a, dims: Spec(a.dtype, squeezed_shape(a.shape, dims)),
    vjp=lambda c, g: reshape(g, c.inputs[0].shape)))


def unsqueezed_shape(shape: tuple, dim: int) -> tuple:
    """`shape` with a size-1 dim inserted at `dim`."""
    return tuple(shape[:dim]) + (1,) + tuple(shape[dim:])


UNSQUEEZE = register(OpDef(
    "unsqueeze", forward=lambda xp, a, dim: xp.expand_dims(a, dim), attrs=("dim",),
    needs_input_values=False, smooth=True, extra=_RESHAPE_VIEW,
    infer=lambda a, dim: Spec(a.dtype, unsqueezed_shape(a.shape, dim)),
    vjp=lambda c, g: squeeze(g, c.attrs["dim"])))


def _repeat_forward(xp, a, repeats):
    return xp.tile(a.reshape((1,) * (len(repeats) - a.ndim) + a.shape), repeats)


def _repeat_vjp(c, g):
    """Sum the copies: view g as (r0, s0, r1, s1, ...) and reduce over the r axes."""
    from .reduction import sum as sum_

    repeats, shape = c.attrs["repeats"], c.inputs[0].shape
    padded = (1,) * (len(repeats) - len(shape)) + tuple(shape)
    interleaved = tuple(x for r, s in zip(repeats, padded) for x in (r, s))
    summed = sum_(reshape(g, interleaved), tuple(range(0, 2 * len(repeats), 2)))
    return reshape(summed, shape)


def _repeat_infer(a, repeats):
    if len(repeats) < len(a.shape):
        raise OpError("repeat", f"needs at least {len(a.shape)} repeats for shape {tuple(a.shape)}, "
                      f"got {tuple(repeats)}")
    padded = (1,) * (len(repeats) - len(a.shape)) + tuple(a.shape)
    return Spec(a.dtype, tuple(r * s for r, s in zip(repeats, padded)))


REPEAT = register(OpDef(
    "repeat", forward=_repeat_forward, vjp=_repeat_vjp, infer=_repeat_infer, attrs=("repeats",),
    needs_input_values=False, smooth=True))


def check_cat_shapes(shapes: list, dim: int) -> tuple:
    """The shape of the concatenation, or an OpError naming the first mismatching tensor."""
    if not shapes:
        raise OpError("cat", "expected a non-empty list of tensors")
    first = tuple(shapes[0])
    for k, s in enumerate(shapes[1:], 1):
        if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(s, first)) if i != dim):
            raise OpError("cat", f"expected all tensors to have the same shape except in dim {dim}, "
                          f"got {first} (tensor 0) and {tuple(s)} (tensor {k})")
    size = 0
    for s in shapes:
        size = size + s[dim] if isinstance(size, int) and isinstance(s[dim], int) else "?"
    return first[:dim] + (size,) + first[dim + 1:]


def _cat_forward(xp, *arrays, dim):
    check_cat_shapes([a.shape for a in arrays], dim)
    return xp.concatenate(arrays, axis=dim)


def _cat_vjp(c, g):
    dim, start, grads = c.attrs["dim"], 0, []
    for t in c.inputs:
        grads.append(narrow(g, dim, start, t.shape[dim]))
        start += t.shape[dim]
    return tuple(grads)


CAT = register(OpDef(
    "cat", forward=_cat_forward, vjp=_cat_vjp, attrs=("dim",), needs_input_values=False, smooth=True,
    infer=lambda *specs, dim: Spec(specs[0].dtype, check_cat_shapes([s.shape for s in specs], dim))))

FLIP = register(OpDef(
    "flip", forward=lambda xp, a, dims: xp.flip(a, axis=dims), attrs=("dims",), needs_input_values=False,
    smooth=True, infer=lambda a, dims: a, vjp=lambda c, g: flip(g, c.attrs["dims"])))
CLONE = register(OpDef(
    "clone", forward=lambda xp, a: a.copy(), needs_input_values=False, smooth=True, infer=lambda a: a,
    vjp=lambda c, g: g))


def _dims_arg(op: str, dims, ndim: int) -> tuple:
    if isinstance(dims, int):
        dims = (dims,)
    return tuple(sorted({normalize_dim(op, d, ndim) for d in _size_args(tuple(dims))}))


def squeeze(input, dim=None):
    """Remove size-1 dims (all of them, or those among `dim`, an int or a tuple)."""
    dims = tuple(range(input.ndim)) if dim is None else _dims_arg("squeeze", dim, input.ndim)
    return apply(SQUEEZE, (input,), {"dims": dims})


def unsqueeze(input, dim: int):
    """Insert a size-1 dim at `dim` (negative counts from the end of the result)."""
    return apply(UNSQUEEZE, (input,), {"dim": normalize_dim("unsqueeze", dim, input.ndim + 1)})


def repeat(input, *sizes):
    """Tile the tensor `sizes[i]` times along dim i (extra leading sizes add dims), as PyTorch."""
    repeats = _size_args(sizes)
    _repeat_infer(Spec(input.dtype, input.shape), repeats)
    return apply(REPEAT, (input,), {"repeats": repeats})


def cat(tensors, dim: int = 0):
    """Concatenate tensors (promoted to one dtype) along an existing dim."""
    from .convert import promote_operands

    tensors = tuple(tensors)
    if not tensors:
        raise OpError("cat", "expected a non-empty list of tensors")
    dim = normalize_dim("cat", dim, tensors[0].ndim)
    check_cat_shapes([t.shape for t in tensors], dim)
    return apply(CAT, promote_operands(*tensors), {"dim": dim})


def stack(tensors, dim: int = 0):
    """Join same-shape tensors along a new dim."""
    tensors = tuple(tensors)
    if not tensors:
        raise OpError("stack", "expected a non-empty list of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise OpError("stack", f"expects tensors of equal shape, got {sorted(shapes)}")
    dim = normalize_dim("stack", dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def narrow(input, dim: int, start: int, length: int):
    """The slice [start, start + length) of dim `dim` (a view)."""
    from .indexing import getitem

    dim = normalize_dim("narrow", dim, input.ndim)
    size = input.shape[dim]
    if start < 0:
        start += size
    if not (0 <= start and length >= 0 and start + length <= size):
        raise OpError("narrow", f"start {start} and length {length} exceed dim {dim} of size {size}")
    return getitem(input, (slice(None),) * dim + (slice(start, start + length),))


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces along `dim`: of size `split_size_or_sections` (the last may be smaller), or of the
    listed sizes."""
    dim = normalize_dim("split", dim, tensor.ndim)
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise OpError("split", f"split size must be positive, got {step}")
        sections = [min(step, size - s) for s in range(0, size, step)] or [0]
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise OpError("split", f"sizes {sections} do not add up to {size} (dim {dim} of shape "
                          f"{tuple(tensor.shape)})")
    pieces, start = [], 0
    for n in sections:
        pieces.append(narrow(tensor, dim, start, n))
        start += n
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """Split into `chunks` pieces of equal size (the last may be smaller), as PyTorch."""
    if chunks <= 0:
        raise OpError("chunk", f"chunks must be positive, got {chunks}")
    size = input.shape[normalize_dim("chunk", dim, input.ndim)]
    return split(input, max(-(-size // chunks), 1), dim)


def unbind(input, dim: int = 0) -> tuple:
    """The slices along `dim`, each without that dim."""
    from .indexing import getitem

    dim = normalize_dim("unbind", dim, input.ndim)
    return tuple(getitem(input, (slice(None),) * dim + (i,)) for i in range(input.shape[dim]))


def flip(input, dims):
    """Reverse the order of elements along `dims`."""
    return apply(FLIP, (input,), {"dims": _dims_arg("flip", dims, input.ndim)})


def clone(input):
    """A copy with its own storage (the gradient passes through unchanged)."""
    return apply(CLONE, (input,), {})


def contiguous(input):
    """The tensor itself: NumPy arrays need no layout change for any op here."""
    return input


# ---- composites: unflatten, movedim, swapaxes, roll -------------------------------------------------
def unflatten(input, dim: int, sizes):
    """Split dim `dim` into `sizes` (one entry may be -1)."""
    dim = normalize_dim("unflatten", dim, input.ndim)
    inner = infer_reshape("unflatten", (input.shape[dim],), tuple(sizes))
    return reshape(input, tuple(input.shape[:dim]) + inner + tuple(input.shape[dim + 1:]))


def movedim(input, source, destination):
    """Move dims `source` to positions `destination` (ints or sequences); the rest keep their order."""
    src = _size_args((source,) if isinstance(source, int) else tuple(source))
    dst = _size_args((destination,) if isinstance(destination, int) else tuple(destination))
    if len(src) != len(dst):
        raise OpError("movedim", f"source {src} and destination {dst} must have the same length")
    src = [normalize_dim("movedim", d, input.ndim) for d in src]
    dst = [normalize_dim("movedim", d, input.ndim) for d in dst]
    rest = iter(d for d in range(input.ndim) if d not in src)
    placed = dict(zip(dst, src))
    return permute(input, *[placed[i] if i in placed else next(rest) for i in range(input.ndim)])


def roll(input, shifts, dims=None):
    """Rotate elements by `shifts` along `dims` (the flattened tensor when dims is None)."""
    if dims is None:
        return reshape(roll(flatten(input), shifts, 0), input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise OpError("roll", f"shifts {shifts} and dims {dims} must have the same length")
    out = input
    for shift, dim in zip(shifts, dims):
        size = out.shape[normalize_dim("roll", dim, out.ndim)]
        k = shift % size if size else 0
        if k:
            out = cat([narrow(out, dim, size - k, k), narrow(out, dim, 0, size - k)], dim)
    return out
