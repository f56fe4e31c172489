"""Indexing: `x[key]`, `x[key] = value`, gather/scatter, index_select, masked_fill, pad.

A key is normalized into `items`, a tuple with one small tuple per indexing term, so that the
IR, the file format and the C runtime can store it as plain data:

- `("select", i)`: an int (removes the dim; negative counts from the end),
- `("slice", start, stop, step)`: a slice with Python semantics (None for a missing bound),
- `("newaxis",)`: `None` (inserts a size-1 dim),
- `("tensor",)`: an integer or boolean index tensor, taken in order from the op's extra inputs.

Ellipsis is expanded and trailing full slices are dropped during normalization. Keys of ints,
slices and None are one view op, `getitem`; keys with index tensors are `index`; assignment
is `index_put` (out of place; `Tensor.__setitem__` writes it back in place).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..backend import xp_of
from ..errors import OpError, OpIndexError
from . import dispatch
from .dispatch import apply
from .registry import OpDef, Spec, register
from .rules import broadcast_shapes, normalize_dim

_FULL = ("slice", None, None, None)


# ---- key normalization ----------------------------------------------------------------------------
def _index_tensor(obj, like):
    from .convert import to_tensor

    t = obj if isinstance(obj, dispatch.Tensor) else to_tensor(np.asarray(obj), like)
    if t.dtype.is_floating_point:
        raise OpIndexError("index", f"tensors used as indices must be long, int or bool, got {t.dtype}")
    return t


def _consumed_dims(key: tuple) -> tuple[int, int]:
    """(dims the key's terms index, number of ellipses)."""
    used = ellipses = 0
    for term in key:
        if term is None:
            continue
        if term is Ellipsis:
            ellipses += 1
        elif isinstance(term, (dispatch.Tensor, np.ndarray)) and term.dtype in (_dt.bool_, np.bool_):
            used += term.ndim
        else:
            used += 1
    return used, ellipses


def normalize_index(key, input) -> tuple[tuple, tuple]:
    """(items, index tensors) for `input[key]` (see the module docstring)."""
    shape = input.shape
    if type(key) is int and shape:  # x[i], the most common key, without the general walk
        return (("select", _checked_int(key, shape[0], 0)),), ()
    key = key if type(key) is tuple else (key,)
    used, ellipses = _consumed_dims(key)
    if ellipses > 1:
        raise OpIndexError("getitem", "an index can only have a single ellipsis ('...')")
    if used > len(shape):
        raise OpIndexError("getitem", f"too many indices for tensor of dimension {len(shape)} "
                           f"(shape {tuple(shape)})")
    items, tensors, dim = [], [], 0
    for term in key:
        kind = type(term)
        if kind is int or (isinstance(term, (int, np.integer)) and not isinstance(term, (bool, np.bool_))):
            items.append(("select", _checked_int(int(term), shape[dim], dim)))
            dim += 1
        elif kind is slice:
            items.append(_slice_item(term))
            dim += 1
        elif term is None:
            items.append(("newaxis",))
        elif term is Ellipsis:
            items.extend([_FULL] * (len(shape) - used))
            dim += len(shape) - used
        elif isinstance(term, (dispatch.Tensor, np.ndarray, list, tuple, bool, np.bool_)):
            t = _index_tensor(term, input)
            items.append(("tensor",))
            tensors.append(t)
            dim += t.ndim if t.dtype is _dt.bool_ else 1
        else:
            raise OpIndexError("getitem", f"cannot index with {type(term).__name__} {term!r}; use ints, "
                               "slices, None, ..., or integer/bool tensors")
    while items and items[-1] == _FULL:
        items.pop()
    return tuple(items), tuple(tensors)


def _slice_item(s: slice) -> tuple:
    start, stop, step = (None if v is None else int(v) for v in (s.start, s.stop, s.step))
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    return ("slice", start, stop, step)


def _checked_int(i: int, size, dim: int) -> int:
    if isinstance(size, int) and not -size <= i < size:
        raise OpIndexError("getitem", f"index {i} is out of bounds for dimension {dim} with size {size}")
    return i


def index_key(items, arrays) -> tuple:
    """The NumPy/CuPy key for `items`, with `arrays` in place of the index tensors."""
    arrays = iter(arrays)
    key = []
    for item in items:
        kind = item[0]
        if kind == "select":
            key.append(item[1])
        elif kind == "slice":
            key.append(slice(*item[1:]))
        elif kind == "newaxis":
            key.append(None)
        else:
            key.append(next(arrays))
    return tuple(key)


def split_key(items, arrays) -> tuple[tuple, tuple]:
    """PyTorch's two steps for a key with index tensors: a basic key (ints, slices, None; each
    mask or index tensor kept as full slices), then the advanced key on that view. NumPy alone
    would treat the ints as index tensors too, which moves result dims: `x[0, :, [1, 2]]` has
    shape (3, 2) in PyTorch and (2, 3) in NumPy for x of shape (2, 3, 4)."""
    basic, advanced = [], []
    for item, array in zip(items, _tensor_slots(items, arrays)):
        kind = item[0]
        if kind == "tensor":
            width = array.ndim if array.dtype == bool else 1
            basic.extend([slice(None)] * width)
            advanced.append(array)
        elif kind == "select":
            basic.append(item[1])
        else:
            basic.append(slice(*item[1:]) if kind == "slice" else None)
            advanced.append(slice(None))
    return tuple(basic) + (Ellipsis,), tuple(advanced)


def _tensor_slots(items, arrays):
    arrays = iter(arrays)
    return [next(arrays) if item[0] == "tensor" else None for item in items]


def torch_getitem(a, items, arrays):
    """`a[items]` with PyTorch's semantics (a view when there are no index arrays)."""
    if not arrays:
        return a[index_key(items, ()) + (Ellipsis,)]  # the ... keeps a full selection a 0-d view
    basic, advanced = split_key(items, arrays)
    return a[basic][advanced]


def index_shape(shape: tuple, items: tuple, index_specs: tuple = ()) -> tuple:
    """The shape of `x[items]` (PyTorch's rules); a dim that depends on mask values is "?".

    Ints select first; then the broadcast shape of the index tensors takes the place of the
    first one when they are adjacent, else goes first (as NumPy)."""
    specs = iter(index_specs)
    out, dim, adv_shapes, adv_at, after_adv, gap = [], 0, [], None, False, False
    for item in items:
        kind = item[0]
        if kind == "tensor":
            gap = gap or (adv_at is not None and not after_adv)
            adv_at, after_adv = len(out) if adv_at is None else adv_at, True
            spec = next(specs)
            is_mask = spec.dtype is _dt.bool_
            adv_shapes.append(("?",) if is_mask else tuple(spec.shape))
            dim += len(spec.shape) if is_mask else 1
            continue
        after_adv = after_adv and kind == "select"  # ints are applied first: they separate nothing
        if kind == "newaxis":
            out.append(1)
        else:
            size = shape[dim]
            dim += 1
            if kind == "slice":
                out.append(len(range(*slice(*item[1:]).indices(size))) if isinstance(size, int)
                           else (size if item == _FULL else "?"))
    out += list(shape[dim:])
    if adv_at is None:
        return tuple(out)
    at = 0 if gap else adv_at
    return tuple(out[:at]) + broadcast_shapes("index", *adv_shapes) + tuple(out[at:])


def add_at(xp, out, pick, values) -> None:
    """pick(out) += values, with repeated positions accumulating (NumPy's add.at, on either
    backend); `pick` indexes an array of out's shape."""
    positions = pick(xp.arange(out.size).reshape(out.shape))
    values = xp.broadcast_to(values, positions.shape)
    flat = out.reshape(-1)
    if xp is np:
        np.add.at(flat, positions.reshape(-1), values.reshape(-1))
    else:
        import cupyx

        cupyx.scatter_add(flat, positions.reshape(-1), values.reshape(-1))


# ---- getitem, index, index_put --------------------------------------------------------------------
def _index_forward(xp, a, *index_arrays, items):
    try:
        return torch_getitem(a, items, index_arrays)
    except IndexError as exc:
        raise OpIndexError("index", f"{exc}; input shape {tuple(a.shape)}") from None


def _zeros_like(t):
    from ..creation import zeros

    return zeros(t.shape, dtype=t.dtype, device=t.device.type)


GETITEM = register(OpDef(
    "getitem", forward=lambda xp, a, items: torch_getitem(a, items, ()), attrs=("items",), smooth=True,
    needs_input_values=False,
    extra={"view": True, "unview": lambda base, v, attrs: index_put(base, v, attrs["items"], ())},
    infer=lambda a, items: Spec(a.dtype, index_shape(a.shape, items)),
    vjp=lambda c, g: index_put(_zeros_like(c.inputs[0]), g, c.attrs["items"], ())))


INDEX = register(OpDef(
    "index", forward=_index_forward, attrs=("items",), smooth=True,
    infer=lambda a, *index_specs, items: Spec(a.dtype, index_shape(a.shape, items, index_specs)),
    needs_input_values=False,
    vjp=lambda c, g: (index_put(_zeros_like(c.inputs[0]), g, c.attrs["items"], c.inputs[1:],
                                accumulate=True),) + (None,) * (len(c.inputs) - 1)))


def _index_put_forward(xp, a, values, *index_arrays, items, accumulate):
    out = a.copy()
    try:
        if accumulate:
            add_at(xp, out, lambda array: torch_getitem(array, items, index_arrays), values)
        elif index_arrays:
            basic, advanced = split_key(items, index_arrays)
            out[basic][advanced] = values  # out[basic] is a view: this writes into out
        else:
            out[index_key(items, ())] = values
    except IndexError as exc:
        raise OpIndexError("index_put", f"{exc}; input shape {tuple(a.shape)}") from None
    return out


def _index_put_vjp(c, g):
    items, index_tensors = c.attrs["items"], c.inputs[2:]
    values = c.inputs[1]
    from .elementwise import reduce_to

    g_input = g if c.attrs["accumulate"] else index_put(g, _zeros_like(values), items, index_tensors)
    g_values = reduce_to(_take(g, items, index_tensors), values.shape)
    return (g_input, g_values) + (None,) * len(index_tensors)


INDEX_PUT = register(OpDef(
    "index_put", forward=_index_put_forward, vjp=_index_put_vjp, attrs=("items", "accumulate"), smooth=True,
    needs_input_values=False, infer=lambda a, values, *index_specs, items, accumulate: a))


def _take(input, items, tensors):
    if tensors:
        return apply(INDEX, (input, *tensors), {"items": items})
    return apply(GETITEM, (input,), {"items": items})


def getitem(input, key):
    """`input[key]` with PyTorch's (NumPy's) rules; ints, slices, None and ... give a view."""
    items, tensors = normalize_index(key, input)
    return _take(input, items, tensors)


def index_put(input, values, items: tuple, tensors: tuple, accumulate: bool = False):
    """A copy of `input` with `values` written (or added, `accumulate=True`) at `items`."""
    from .convert import to_tensor
    from .elementwise import cast

    values = cast(to_tensor(values, input), input.dtype)
    return apply(INDEX_PUT, (input, values, *tensors), {"items": tuple(items), "accumulate": bool(accumulate)})


def setitem(input, key, value):
    """A copy of `input` with `input[key] = value` applied (value broadcast, cast to input's dtype)."""
    from .convert import to_tensor
    from .shape import reshape

    items, tensors = normalize_index(key, input)
    value = to_tensor(value, input)
    lead = 0
    while lead < value.ndim - 1 and value.shape[lead] == 1:  # PyTorch drops extra leading 1s
        lead += 1
    if lead:
        value = reshape(value, value.shape[lead:])
    return index_put(input, value, items, tensors)


# ---- gather, scatter, scatter_add -----------------------------------------------------------------
def _along_axis_key(xp, index, dim: int) -> tuple:
    """The key that picks `x[i][j]...` with `index` standing in for dim `dim`."""
    key = []
    for d, n in enumerate(index.shape):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            key.append(xp.arange(n).reshape(shape))
    return tuple(key)


def check_index_along(op: str, shape: tuple, index, dim: int) -> None:
    """PyTorch's gather/scatter rules: same ndim, index no larger than input, values in range."""
    if len(index.shape) != len(shape):
        raise OpError(op, f"index {tuple(index.shape)} and input {tuple(shape)} must have the same number "
                      "of dimensions")
    for d, (n, s) in enumerate(zip(index.shape, shape)):
        if d != dim and n > s:
            raise OpError(op, f"index {tuple(index.shape)} is larger than input {tuple(shape)} in dimension {d}")
    if index.size:
        lo, hi = int(index.min()), int(index.max())
        bad = hi if hi >= shape[dim] else lo
        if lo < 0 or hi >= shape[dim]:
            raise OpIndexError(op, f"index {bad} is out of bounds for dimension {dim} with size {shape[dim]}")


def _gather_forward(xp, a, index, dim):
    check_index_along("gather", a.shape, index, dim)
    return a[_along_axis_key(xp, index, dim)]


GATHER = register(OpDef(
    "gather", forward=_gather_forward, attrs=("dim",), smooth=True, needs_input_values=False,
    infer=lambda a, index, dim: Spec(a.dtype, index.shape),
    vjp=lambda c, g: (scatter_add(_zeros_like(c.inputs[0]), c.attrs["dim"], c.inputs[1], g), None)))


def _scatter_forward(accumulate):
    def forward(xp, a, index, src, dim):
        op = "scatter_add" if accumulate else "scatter"
        check_index_along(op, a.shape, index, dim)
        if any(n > s for n, s in zip(index.shape, src.shape)):
            raise OpError(op, f"index {tuple(index.shape)} is larger than src {tuple(src.shape)}")
        out = a.copy()
        key = _along_axis_key(xp, index, dim)
        picked = src[tuple(slice(0, n) for n in index.shape)]
        if accumulate:
            add_at(xp, out, lambda array: array[key], picked)
        else:
            out[key] = picked
        return out
    return forward


def _src_grad(c, g):
    """The gradient of the scattered source: gathered back, zero where the index left it unread."""
    index, src = c.inputs[1], c.inputs[2]
    picked = gather(g, c.attrs["dim"], index)
    if tuple(index.shape) == tuple(src.shape):
        return picked
    pad_widths = []
    for n, s in reversed(list(zip(index.shape, src.shape))):
        pad_widths += [0, s - n]
    return pad(picked, pad_widths)


SCATTER = register(OpDef(
    "scatter", forward=_scatter_forward(False), attrs=("dim",), smooth=True, needs_input_values=False,
    infer=lambda a, index, src, dim: a,
    vjp=lambda c, g: (scatter(g, c.attrs["dim"], c.inputs[1], 0.0), None, _src_grad(c, g))))
SCATTER_ADD = register(OpDef(
    "scatter_add", forward=_scatter_forward(True), attrs=("dim",), smooth=True, needs_input_values=False,
    infer=lambda a, index, src, dim: a,
    vjp=lambda c, g: (g, None, _src_grad(c, g))))


def gather(input, dim: int, index):
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim=1 (PyTorch's gather)."""
    return apply(GATHER, (input, index), {"dim": normalize_dim("gather", dim, input.ndim)})


def _scatter_src(input, index, src):
    from ..tensor import Tensor
    from .elementwise import cast
    from .shape import expand

    if not isinstance(src, Tensor):  # scatter(dim, index, value): a scalar everywhere
        from .convert import to_tensor

        src = expand(cast(to_tensor(src, input), input.dtype), index.shape)
    return cast(src, input.dtype)


def scatter(input, dim: int, index, src=None, *, value=None):
    """A copy of `input` with out[i][index[i][j]] = src[i][j] for dim=1 (src may be a number)."""
    src = _scatter_src(input, index, value if src is None else src)
    return apply(SCATTER, (input, index, src), {"dim": normalize_dim("scatter", dim, input.ndim)})


def scatter_add(input, dim: int, index, src):
    """A copy of `input` with src added at out[i][index[i][j]] for dim=1 (repeats accumulate)."""
    src = _scatter_src(input, index, src)
    return apply(SCATTER_ADD, (input, index, src), {"dim": normalize_dim("scatter_add", dim, input.ndim)})


# ---- index_select, masked_fill, pad ---------------------------------------------------------------
def index_select(input, dim: int, index):
    """The entries of `input` at the positions `index` (1-d) along `dim`."""
    if index.ndim > 1:
        raise OpError("index_select", f"index must be 0-d or 1-d, got shape {tuple(index.shape)}")
    dim = normalize_dim("index_select", dim, input.ndim)
    from .shape import reshape

    return getitem(input, (slice(None),) * dim + (reshape(index, -1),))


def masked_fill(input, mask, value):
    """`value` where `mask` is true, else `input` (mask broadcast; result keeps input's dtype)."""
    from .convert import to_tensor
    from .elementwise import cast, where

    return where(mask, cast(to_tensor(value, input), input.dtype), input)


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_widths(ndim: int, pad_arg: tuple) -> list:
    widths = [(0, 0)] * ndim
    for k in range(len(pad_arg) // 2):
        widths[ndim - 1 - k] = (pad_arg[2 * k], pad_arg[2 * k + 1])
    return widths


def _pad_forward(xp, a, pad, mode, value):
    widths = _pad_widths(a.ndim, pad)
    crop = tuple(slice(max(0, -lo), s - max(0, -hi)) for (lo, hi), s in zip(widths, a.shape))
    positive = [(max(0, lo), max(0, hi)) for lo, hi in widths]
    a = a[crop]
    if mode == "constant":
        return xp.pad(a, positive, mode="constant", constant_values=value)
    return xp.pad(a, positive, mode=_PAD_MODES[mode])


def _pad_vjp(c, g):
    x, pad_arg, mode = c.inputs[0], c.attrs["pad"], c.attrs["mode"]
    if mode == "constant":  # the adjoint of padding is cropping: pad by minus the widths
        return pad(g, [-p for p in pad_arg])
    from ..tensor import Tensor
    from .shape import reshape

    # where each output element was read from, then the reads summed back (scatter-add)
    xp = xp_of(x.data)
    positions = _pad_forward(xp, xp.arange(x.numel()).reshape(x.shape), pad_arg, mode, 0)
    flat = index_put(_zeros_like(reshape(x, -1)), reshape(g, -1), (("tensor",),),
                     (Tensor._wrap(positions.reshape(-1)),), accumulate=True)
    return reshape(flat, x.shape)


def _pad_infer(a, pad, mode, value):
    widths = _pad_widths(len(a.shape), pad)
    return Spec(a.dtype, tuple(s + lo + hi if isinstance(s, int) else "?" for s, (lo, hi) in zip(a.shape, widths)))


PAD = register(OpDef(
    "pad", forward=_pad_forward, vjp=_pad_vjp, infer=_pad_infer, attrs=("pad", "mode", "value"), smooth=True,
    needs_input_values=False))


def pad(input, pad, mode: str = "constant", value: float | None = None):  # noqa: A002 - F.pad's names
    """Pad the last len(pad)/2 dims: pad = (left, right) for the last dim, then the one before, ...
    `mode` is "constant" (with `value`), "reflect", "replicate" or "circular", as `F.pad`."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise OpError("pad", f"padding {pad} must have an even length of at most 2 * {input.ndim}")
    if mode not in _PAD_MODES:
        raise OpError("pad", f"mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    if mode != "constant":
        for (lo, hi), s in zip(_pad_widths(input.ndim, pad), input.shape):
            if lo < 0 or hi < 0 or (mode == "reflect" and (lo >= s or hi >= s)):
                raise OpError("pad", f"{mode} padding {pad} is too large (or negative) for input of shape "
                              f"{tuple(input.shape)}")
    return apply(PAD, (input,), {"pad": pad, "mode": mode, "value": float(value or 0.0)})


# ---- triangles, masked_select ---------------------------------------------------------------------
def _triangle(name, fn):
    # no C kernel yet (exportable=False); a constant mask made with them folds away before export
    return register(OpDef(
        name, forward=lambda xp, a, diagonal: fn(xp)(a, diagonal), attrs=("diagonal",), smooth=True, exportable=False,
        needs_input_values=False, infer=lambda a, diagonal: a,
        vjp=lambda c, g: apply(c.op, (g,), c.attrs)))


TRIL = _triangle("tril", lambda xp: xp.tril)
TRIU = _triangle("triu", lambda xp: xp.triu)


def tril(input, diagonal: int = 0):
    """The lower triangle of the last two dims (on and below `diagonal`), zeros elsewhere."""
    if input.ndim < 2:
        raise OpError("tril", f"needs at least 2 dims, got shape {tuple(input.shape)}")
    return apply(TRIL, (input,), {"diagonal": int(diagonal)})


def triu(input, diagonal: int = 0):
    """The upper triangle of the last two dims (on and above `diagonal`), zeros elsewhere."""
    if input.ndim < 2:
        raise OpError("triu", f"needs at least 2 dims, got shape {tuple(input.shape)}")
    return apply(TRIU, (input,), {"diagonal": int(diagonal)})


def masked_select(input, mask):
    """The elements of `input` where `mask` (broadcast against it) is true, as a 1-d tensor."""
    from .rules import broadcast_shapes
    from .shape import expand

    shape = broadcast_shapes("masked_select", input.shape, mask.shape)
    return getitem(expand(input, shape), expand(mask, shape))


def _nonzero_forward(xp, a):
    return xp.stack(xp.nonzero(a), axis=1).astype(xp.int64, copy=False) if a.ndim else \
        xp.zeros((int(bool(a)), 0), dtype=xp.int64)


NONZERO = register(OpDef(
    "nonzero", forward=_nonzero_forward, exportable=False,  # the shape depends on the values
    infer=lambda a: Spec(_dt.int64, ("?", len(a.shape)))))


def nonzero(input, *, as_tuple: bool = False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-d tensor per dim."""
    out = apply(NONZERO, (input,), {})
    if not as_tuple:
        return out
    return tuple(getitem(out, (slice(None), d)) for d in range(input.ndim))
