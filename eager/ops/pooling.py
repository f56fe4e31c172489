"""Pooling: max_pool2d and avg_pool2d primitives; adaptive_avg_pool2d as a composite.

Both primitives take windows as a copy-free strided view of the padded input. Their VJPs reuse
other primitives: max pooling scatters the gradient to the argmax positions with
`embedding_backward` (a row scatter-add over the flattened input), average pooling is a
transposed depthwise convolution with a ones kernel.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import OpError
from .conv import back_to_input, batched, flat_padding, pair_arg, unbatch
from .dispatch import apply
from .nn import EMBEDDING_BACKWARD
from .registry import OpDef, Spec, register


def pool_out_size(size, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool):
    """Output length along one dim, as PyTorch: with ceil_mode the last window must start inside
    the input or its left padding. "?" for a symbolic input length."""
    if not isinstance(size, int):
        return "?"
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _geometry_check(op: str, shape, kernel, stride, padding, dilation) -> None:
    if len(shape) != 4:
        raise OpError(op, f"expects a 4-d input (N, C, H, W) (or 3-d unbatched), got shape {tuple(shape)}")
    for k, p in zip(kernel, padding):
        if p * 2 > k:
            raise OpError(op, f"padding {tuple(padding)} should be at most half of kernel size {tuple(kernel)}")
    if any(v <= 0 for v in tuple(kernel) + tuple(stride) + tuple(dilation)):
        raise OpError(op, f"kernel {kernel}, stride {stride} and dilation {dilation} must be positive")


def _out_hw(shape, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    return tuple(pool_out_size(*a, ceil_mode) for a in zip(shape[2:], kernel, stride, padding, dilation))


def _windows(xp, x, kernel, stride, padding, dilation, out_hw, fill):
    """(N, C, Ho, Wo, kh, kw) view of `x` padded with `fill` (extra at the end for ceil_mode)."""
    pads = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p))
                 for n, k, s, p, d, o in zip(x.shape[2:], kernel, stride, padding, dilation, out_hw))
    if any(p for pair in pads for p in pair):
        x = xp.pad(x, ((0, 0), (0, 0)) + pads, constant_values=fill)
    s_n, s_c, s_h, s_w = x.strides
    return xp.lib.stride_tricks.as_strided(
        x, x.shape[:2] + tuple(out_hw) + tuple(kernel),
        (s_n, s_c, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1]))


# ---- max_pool2d -----------------------------------------------------------------------------------
def _max_pool2d_forward(xp, x, *, kernel, stride, padding, dilation, ceil_mode):
    _geometry_check("max_pool2d", x.shape, kernel, stride, padding, dilation)
    out_hw = _out_hw(x.shape, kernel, stride, padding, dilation, ceil_mode)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    windows = _windows(xp, x, kernel, stride, padding, dilation, out_hw, fill)
    # One pass per kernel offset over strided views (NumPy's argmax over a short window axis is
    # slow). `offset` tracks where in its plane each window's maximum lies relative to the window's
    # origin; strict > keeps the first maximum, as PyTorch does.
    width = x.shape[3]
    values = windows[..., 0, 0].copy()
    offset = xp.zeros(values.shape, dtype=_dt.int64.np)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            if i or j:
                candidate = windows[..., i, j]
                xp.copyto(offset, i * dilation[0] * width + j * dilation[1], where=candidate > values)
                xp.maximum(values, candidate, out=values)
    origin_rows = xp.arange(out_hw[0]).reshape(-1, 1) * stride[0] - padding[0]
    origin = origin_rows * width + (xp.arange(out_hw[1]) * stride[1] - padding[1])
    return values, offset + origin


def _max_pool2d_vjp(c, g, _indices_grad=None):
    from ..creation import arange

    x = c.inputs[0]
    n, ch, h, w = x.shape
    planes = arange(n * ch, device=x.device.type).reshape(n, ch, 1, 1) * (h * w)
    where = (c.out(1) + planes).reshape(-1)
    rows = apply(EMBEDDING_BACKWARD, (g.reshape(-1), where), {"num_weights": n * ch * h * w, "padding_idx": None})
    return rows.reshape(x.shape)


def _max_pool2d_infer(x, *, kernel, stride, padding, dilation, ceil_mode):
    out = tuple(x.shape[:2]) + _out_hw(x.shape, kernel, stride, padding, dilation, ceil_mode)
    return Spec(x.dtype, out), Spec(_dt.int64, out)


_POOL_ATTRS = ("kernel", "stride", "padding", "dilation", "ceil_mode")
MAX_POOL2D = register(OpDef(
    "max_pool2d", forward=_max_pool2d_forward, vjp=_max_pool2d_vjp, infer=_max_pool2d_infer, num_outputs=2,
    attrs=_POOL_ATTRS, needs_input_values=False,
    doc="Window maxima over (N, C, H, W) and their flat indices in each H*W plane (padding is -inf)."))


# ---- avg_pool2d -----------------------------------------------------------------------------------
def _divisor(out_hw, size, kernel, stride, padding, count_include_pad, divisor_override):
    """(Ho, Wo) window sizes: padded positions count, positions past the padding never do."""
    if divisor_override:
        return np.full(out_hw, float(divisor_override))
    counts = []
    for o, n, k, s, p in zip(out_hw, size, kernel, stride, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.outer(counts[0], counts[1]).astype(np.float64)


def _avg_pool2d_forward(xp, x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    _geometry_check("avg_pool2d", x.shape, kernel, stride, padding, (1, 1))
    out_hw = _out_hw(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    sums = _windows(xp, x, kernel, stride, padding, (1, 1), out_hw, 0).sum(axis=(-2, -1))
    div = _divisor(out_hw, x.shape[2:], kernel, stride, padding, count_include_pad, divisor_override)
    return (sums / xp.asarray(div, dtype=x.dtype)).astype(x.dtype, copy=False)


def _avg_pool2d_vjp(c, g):
    from ..creation import ones
    from ..tensor import Tensor
    from .shape import to_device

    x, a = c.inputs[0], c.attrs
    kernel, stride, padding = a["kernel"], a["stride"], a["padding"]
    div = _divisor(g.shape[2:], x.shape[2:], kernel, stride, padding, a["count_include_pad"], a["divisor_override"])
    scaled = g * to_device(Tensor._wrap((1 / div).astype(g.dtype.np)), g.device.type)
    # sum pooling is conv2d with a ones kernel over the input padded up to the last window
    pads = tuple((p, max(0, (o - 1) * s + k - n - p)) for n, k, s, p, o in zip(
        x.shape[2:], kernel, stride, padding, g.shape[2:]))
    channels = x.shape[1]
    kernel_ones = ones((channels, 1) + tuple(kernel), dtype=g.dtype, device=g.device.type)
    geometry = {"stride": stride, "padding": flat_padding(pads), "dilation": (1, 1), "groups": channels}
    return back_to_input(scaled, kernel_ones, x.shape, geometry)


def _avg_pool2d_infer(x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    return Spec(x.dtype, tuple(x.shape[:2]) + _out_hw(x.shape, kernel, stride, padding, (1, 1), ceil_mode))


AVG_POOL2D = register(OpDef(
    "avg_pool2d", forward=_avg_pool2d_forward, vjp=_avg_pool2d_vjp, infer=_avg_pool2d_infer, smooth=True,
    needs_input_values=False,
    attrs=("kernel", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    doc="Window means over (N, C, H, W) (zero padding; count_include_pad decides the divisor)."))


# ---- public functions ---------------------------------------------------------------------------
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-d max pooling (torch.nn.functional.max_pool2d); stride defaults to kernel_size; with
    return_indices also the flat index of each maximum in its H*W plane."""
    x, unbatched = batched("max_pool2d", input, 2)
    kernel = pair_arg("max_pool2d", "kernel_size", kernel_size)
    attrs = {"kernel": kernel, "stride": pair_arg("max_pool2d", "stride", stride if stride else kernel),
             "padding": pair_arg("max_pool2d", "padding", padding),
             "dilation": pair_arg("max_pool2d", "dilation", dilation), "ceil_mode": bool(ceil_mode)}
    values, indices = apply(MAX_POOL2D, (x,), attrs)
    values, indices = unbatch(values, unbatched), unbatch(indices, unbatched)
    return (values, indices) if return_indices else values


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None):
    """2-d average pooling (torch.nn.functional.avg_pool2d); stride defaults to kernel_size."""
    x, unbatched = batched("avg_pool2d", input, 2)
    kernel = pair_arg("avg_pool2d", "kernel_size", kernel_size)
    attrs = {"kernel": kernel, "stride": pair_arg("avg_pool2d", "stride", stride if stride else kernel),
             "padding": pair_arg("avg_pool2d", "padding", padding), "ceil_mode": bool(ceil_mode),
             "count_include_pad": bool(count_include_pad),
             "divisor_override": int(divisor_override) if divisor_override else None}
    return unbatch(apply(AVG_POOL2D, (x,), attrs), unbatched)


def _averaging_matrix(size: int, out: int):
    """(out, size) rows that average PyTorch's adaptive bins [floor(i*size/out), ceil((i+1)*size/out))."""
    m = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (None keeps a dim): one avg_pool2d when the sizes
    divide, else two products with constant averaging matrices (bins may overlap)."""
    from ..tensor import Tensor
    from .linalg import matmul
    from .shape import to_device

    x, unbatched = batched("adaptive_avg_pool2d", input, 2)
    size = (output_size, output_size) if isinstance(output_size, int) or output_size is None else tuple(output_size)
    out_hw = tuple(x.shape[2 + i] if s is None else int(s) for i, s in enumerate(size))
    if all(n % o == 0 for n, o in zip(x.shape[2:], out_hw)):
        kernel = tuple(n // o for n, o in zip(x.shape[2:], out_hw))
        return unbatch(avg_pool2d(x, kernel, kernel), unbatched)

    def constant(m):
        return to_device(Tensor._wrap(m.astype(x.dtype.np)), x.device.type)

    rows = constant(_averaging_matrix(x.shape[2], out_hw[0]))
    cols = constant(_averaging_matrix(x.shape[3], out_hw[1]).T)
    return unbatch(matmul(matmul(rows, x), cols), unbatched)


# ---- 1-d pooling: the 2-d primitives over a height-1 image ------------------------------------------
def _as_image(op: str, input):
    """(N, C, L) or (C, L) as (N, C, 1, L), and whether a batch dim was added."""
    x, unbatched = batched(op, input, 1)
    return x.reshape(x.shape[:2] + (1,) + x.shape[2:]), unbatched


def _from_image(out, unbatched: bool):
    out = out.reshape(out.shape[:2] + out.shape[3:])
    return unbatch(out, unbatched)


def _single(op: str, name: str, value) -> int:
    single = value if isinstance(value, int) else tuple(value)
    if isinstance(single, tuple) and len(single) == 1:
        single = single[0]
    if not isinstance(single, int):
        raise OpError(op, f"{name} must be an int or a 1-tuple, got {value!r}")
    return single


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-d max pooling over (N, C, L) (torch.nn.functional.max_pool1d); indices index L."""
    x, unbatched = _as_image("max_pool1d", input)
    kernel = _single("max_pool1d", "kernel_size", kernel_size)
    stride = _single("max_pool1d", "stride", stride) if stride else kernel
    values, indices = max_pool2d(x, (1, kernel), (1, stride), (0, _single("max_pool1d", "padding", padding)),
                                 (1, _single("max_pool1d", "dilation", dilation)), ceil_mode, return_indices=True)
    values, indices = _from_image(values, unbatched), _from_image(indices, unbatched)
    return (values, indices) if return_indices else values


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
    """1-d average pooling over (N, C, L) (torch.nn.functional.avg_pool1d)."""
    x, unbatched = _as_image("avg_pool1d", input)
    kernel = _single("avg_pool1d", "kernel_size", kernel_size)
    stride = _single("avg_pool1d", "stride", stride) if stride else kernel
    out = avg_pool2d(x, (1, kernel), (1, stride), (0, _single("avg_pool1d", "padding", padding)), ceil_mode,
                     count_include_pad)
    return _from_image(out, unbatched)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) to a fixed length (torch.nn.functional.adaptive_avg_pool1d)."""
    x, unbatched = _as_image("adaptive_avg_pool1d", input)
    out = adaptive_avg_pool2d(x, (1, _single("adaptive_avg_pool1d", "output_size", output_size)))
    return _from_image(out, unbatched)
