"""Convolutions: conv2d, conv_transpose2d and conv2d_weight (conv1d is conv2d on a height-1 image).

The three primitives are bilinear and each one's VJP is written with the other two, so the
family is closed under differentiation (second order works, and the C runtime needs only these
kernels):

- `conv2d(x, w)`: grad x = `conv_transpose2d(g, w)`, grad w = `conv2d_weight(x, g)`;
- `conv_transpose2d(y, w)`: grad y = `conv2d(g, w)`, grad w = `conv2d_weight(g, y)`;
- `conv2d_weight(x, g)`: grad x = `conv_transpose2d(g, gw)`, grad g = `conv2d(x, gw)`.

Kernels are im2col through stride tricks (a copy-free window view, one copy into columns) and
one matrix product per group; col2im is one strided add per kernel offset. Attributes share
one layout: `stride`, `dilation` are (h, w) pairs, `padding` is (top, left, bottom, right) (ONNX's
order; flat ints, as the file format stores attributes) so that PyTorch's asymmetric "same"
padding is exact.
"""
from __future__ import annotations

from ..errors import OpError
from .dispatch import apply
from .elementwise import ACTIVATION_ATTR, apply_activation, check_unfused
from .registry import OpDef, Spec, register


# ---- shape arithmetic (ints, or symbols such as "N") ------------------------------------------
def conv_out_size(size, kernel: int, stride: int, pad: tuple, dilation: int):
    """Output length of a convolution along one dim; "?" for a symbolic input length unless the
    convolution keeps the length (stride 1, padding = receptive field - 1)."""
    span = dilation * (kernel - 1)
    if not isinstance(size, int):
        return size if stride == 1 and pad[0] + pad[1] == span else "?"
    return (size + pad[0] + pad[1] - span - 1) // stride + 1


def transpose_out_size(size, kernel: int, stride: int, pad: tuple, dilation: int, output_padding: int):
    """Output length of a transposed convolution along one dim ("?" when symbolic)."""
    if not isinstance(size, int):
        return size if stride == 1 and pad[0] + pad[1] == dilation * (kernel - 1) and not output_padding else "?"
    return (size - 1) * stride - pad[0] - pad[1] + dilation * (kernel - 1) + output_padding + 1


def sides(padding: tuple) -> tuple:
    """((top, bottom), (left, right)) of a (top, left, bottom, right) padding attribute."""
    top, left, bottom, right = padding
    return (top, bottom), (left, right)


def flat_padding(pairs) -> tuple:
    """The (top, left, bottom, right) attribute of ((top, bottom), (left, right))."""
    (top, bottom), (left, right) = pairs
    return (top, left, bottom, right)


def _check_channels(op: str, x_shape: tuple, w_shape: tuple, groups: int, transposed: bool) -> None:
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise OpError(op, f"expects a 4-d input (N, C, H, W) and a 4-d weight, got input of shape "
                      f"{tuple(x_shape)} and weight of shape {tuple(w_shape)}")
    channels, expected = x_shape[1], (w_shape[0] if transposed else w_shape[1] * groups)
    if isinstance(channels, int) and channels % groups:
        raise OpError(op, f"{channels} input channels are not divisible by groups={groups}")
    if isinstance(channels, int) and channels != expected:
        what = "weight.shape[0]" if transposed else f"weight.shape[1] * groups = {w_shape[1]} * {groups}"
        raise OpError(op, f"input of shape {tuple(x_shape)} has {channels} channels but the weight of "
                      f"shape {tuple(w_shape)} expects {expected} ({what})")
    if not transposed and w_shape[0] % groups:
        raise OpError(op, f"{w_shape[0]} output channels are not divisible by groups={groups}")


def _check_operands(op: str, x, w, b, groups: int, transposed: bool) -> None:
    """Shapes and dtypes of concrete arrays (the forward's guard; `infer` checks specs)."""
    _check_channels(op, x.shape, w.shape, groups, transposed)
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    if b is not None and tuple(b.shape) != (out_channels,):
        raise OpError(op, f"bias of shape {tuple(b.shape)} does not match {out_channels} output channels")
    dtypes = {a.dtype for a in (x, w, b) if a is not None}
    if len(dtypes) > 1:
        raise OpError(op, f"input, weight and bias must have one dtype, got {', '.join(sorted(map(str, dtypes)))}")


# ---- kernels ------------------------------------------------------------------------------------
def _columns(xp, x, kernel, stride, padding, dilation, groups, out_hw=None):
    """im2col: (N, G, Cg*kh*kw, Ho*Wo) columns of padded `x` (N, C, H, W), and (Ho, Wo).
    Batch-first so the products below come out in NCHW without a transposing copy; `out_hw`
    limits the windows (conv2d_weight takes them from the gradient's shape)."""
    (pt, pb), (pl, pr) = sides(padding)
    if pt or pb or pl or pr:
        x = xp.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    n, c, h, w = x.shape
    kh, kw = kernel
    (sh, sw), (dh, dw) = stride, dilation
    ho, wo = out_hw or ((h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1)
    s_n, s_c, s_h, s_w = x.strides
    windows = xp.lib.stride_tricks.as_strided(
        x, (n, groups, c // groups, kh, kw, ho, wo),
        (s_n, s_c * (c // groups), s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw))
    return windows.reshape(n, groups, (c // groups) * kh * kw, ho * wo), (ho, wo)


def _conv2d_forward(xp, x, w, b=None, *, stride, padding, dilation, groups, activation="none"):
    _check_operands("conv2d", x, w, b, groups, transposed=False)
    cols, (ho, wo) = _columns(xp, x, w.shape[2:], stride, padding, dilation, groups)
    out_c = w.shape[0]
    out = xp.matmul(w.reshape(groups, out_c // groups, -1), cols)  # (N, G, Og, Ho*Wo)
    if b is not None:
        out += b.reshape(groups, out_c // groups, 1)
    return apply_activation(activation, xp, out.reshape(x.shape[0], out_c, ho, wo))


def _conv_transpose2d_forward(xp, y, w, b=None, *, stride, padding, output_padding, dilation, groups):
    _check_operands("conv_transpose2d", y, w, b, groups, transposed=True)
    spans = (dilation[0] * (w.shape[2] - 1), dilation[1] * (w.shape[3] - 1))
    if stride == (1, 1) and all(p <= span for pair, span in zip(sides(padding), spans) for p in pair):
        return _conv_transpose2d_as_conv(xp, y, w, b, padding, output_padding, dilation, groups, spans)
    return _col2im(xp, y, w, b, stride, padding, output_padding, dilation, groups)


def _conv_transpose2d_as_conv(xp, y, w, b, padding, output_padding, dilation, groups, spans):
    """With stride 1 a transposed convolution is a plain one with the kernel flipped, its in/out
    channels swapped per group, and padding span - p (faster than scattering columns)."""
    c_in, og, kh, kw = w.shape
    flipped = w[:, :, ::-1, ::-1].reshape(groups, c_in // groups, og, kh, kw).transpose(0, 2, 1, 3, 4)
    flipped = xp.ascontiguousarray(flipped).reshape(groups * og, c_in // groups, kh, kw)
    pad = tuple((span - p0, span - p1 + extra) for (p0, p1), span, extra in zip(sides(padding), spans, output_padding))
    return _conv2d_forward(xp, y, flipped, b, stride=(1, 1), padding=flat_padding(pad), dilation=dilation,
                           groups=groups)


def _col2im(xp, y, w, b, stride, padding, output_padding, dilation, groups):
    """Transposed convolution by scattering: one product gives every pixel's kernel-sized
    contribution, then one strided add per kernel offset places them."""
    n, c_in, h_in, w_in = y.shape
    og, kh, kw = w.shape[1:]
    (sh, sw), (dh, dw) = stride, dilation
    (pt, pb), (pl, pr) = sides(padding)
    wt = w.reshape(groups, c_in // groups, og * kh * kw).transpose(0, 2, 1)
    cols = xp.matmul(wt, y.reshape(n, groups, c_in // groups, h_in * w_in))  # (N, G, Og*kh*kw, H*W)
    cols = cols.reshape(n, groups * og, kh, kw, h_in, w_in)
    full_h = (h_in - 1) * sh + dh * (kh - 1) + 1 + output_padding[0]
    full_w = (w_in - 1) * sw + dw * (kw - 1) + 1 + output_padding[1]
    canvas = xp.zeros((n, groups * og, full_h, full_w), dtype=cols.dtype)
    for i in range(kh):  # col2im: each kernel offset adds one strided slab
        for j in range(kw):
            canvas[:, :, i * dh:i * dh + sh * (h_in - 1) + 1:sh, j * dw:j * dw + sw * (w_in - 1) + 1:sw] += \
                cols[:, :, i, j]
    out = canvas[:, :, pt:full_h - pb, pl:full_w - pr]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return xp.ascontiguousarray(out)


def _conv2d_weight_forward(xp, x, g, *, kernel, stride, padding, dilation, groups):
    cols, _ = _columns(xp, x, kernel, stride, padding, dilation, groups, out_hw=g.shape[2:])
    n, out_c = g.shape[:2]
    gm = g.reshape(n, groups, out_c // groups, -1)
    gw = xp.matmul(gm, cols.transpose(0, 1, 3, 2)).sum(0)  # (G, Og, Cg*kh*kw)
    return gw.reshape(out_c, x.shape[1] // groups, *kernel)


# ---- VJPs (eager ops only) ----------------------------------------------------------------------
def _geometry(attrs: dict) -> dict:
    return {k: attrs[k] for k in ("stride", "padding", "dilation", "groups")}


def _output_padding(x_hw: tuple, g_hw: tuple, kernel: tuple, attrs: dict) -> tuple:
    """The output_padding that makes conv_transpose2d of `g_hw` give back `x_hw` (rows the
    strided convolution never reached)."""
    return tuple(x - transpose_out_size(o, k, s, p, d, 0) for x, o, k, s, p, d in zip(
        x_hw, g_hw, kernel, attrs["stride"], sides(attrs["padding"]), attrs["dilation"]))


def back_to_input(g, w, x_shape, attrs):
    """conv_transpose2d of `g` giving exactly `x_shape`: the input gradient of conv2d(x, w, **attrs)."""
    op = _output_padding(x_shape[2:], g.shape[2:], w.shape[2:], attrs)
    return apply(CONV_TRANSPOSE2D, (g, w, None), {**_geometry(attrs), "output_padding": op})


def _to_weight(x, g, kernel, attrs):
    return apply(CONV2D_WEIGHT, (x, g), {**_geometry(attrs), "kernel": tuple(kernel)})


def _bias_grad(b, g):
    return g.sum((0, 2, 3)) if b is not None and b.requires_grad else None


def _conv2d_vjp(c, g):
    check_unfused("conv2d", c.attrs)
    x, w, b = c.inputs
    gx = back_to_input(g, w, x.shape, c.attrs) if x.requires_grad else None
    gw = _to_weight(x, g, w.shape[2:], c.attrs) if w.requires_grad else None
    return gx, gw, _bias_grad(b, g)


def _conv_to(x, w, hw: tuple, attrs: dict):
    """conv2d(x, w) cut to `hw`: past the last stride step the transposed convolution's
    output_padding rows (allowed up to the dilation) add output the other side never had."""
    out = apply(CONV2D, (x, w, None), _geometry(attrs))
    return out if out.shape[2:] == tuple(hw) else out[:, :, :hw[0], :hw[1]]


def _conv_transpose2d_vjp(c, g):
    y, w, b = c.inputs
    gy = _conv_to(g, w, y.shape[2:], c.attrs) if y.requires_grad else None
    gw = _to_weight(g, y, w.shape[2:], c.attrs) if w.requires_grad else None
    return gy, gw, _bias_grad(b, g)


def _conv2d_weight_vjp(c, gw):
    x, g = c.inputs
    gx = back_to_input(g, gw, x.shape, c.attrs) if x.requires_grad else None
    gg = _conv_to(x, gw, g.shape[2:], c.attrs) if g.requires_grad else None
    return gx, gg


# ---- shape rules --------------------------------------------------------------------------------
def _conv2d_infer(x, w, b=None, *, stride, padding, dilation, groups, activation="none"):
    _check_channels("conv2d", x.shape, w.shape, groups, transposed=False)
    hw = tuple(conv_out_size(*a) for a in zip(x.shape[2:], w.shape[2:], stride, sides(padding), dilation))
    return Spec(x.dtype, (x.shape[0], w.shape[0]) + hw)


def _conv_transpose2d_infer(y, w, b=None, *, stride, padding, output_padding, dilation, groups):
    _check_channels("conv_transpose2d", y.shape, w.shape, groups, transposed=True)
    hw = tuple(transpose_out_size(*a) for a in zip(y.shape[2:], w.shape[2:], stride, sides(padding), dilation,
                                                   output_padding))
    return Spec(y.dtype, (y.shape[0], w.shape[1] * groups) + hw)


def _conv2d_weight_infer(x, g, *, kernel, stride, padding, dilation, groups):
    return Spec(x.dtype, (g.shape[1], x.shape[1] // groups if isinstance(x.shape[1], int) else "?") + tuple(kernel))


_GEOMETRY = ("stride", "padding", "dilation", "groups")
CONV2D = register(OpDef(
    "conv2d", forward=_conv2d_forward, vjp=_conv2d_vjp, infer=_conv2d_infer, smooth=True,
    attrs=_GEOMETRY + ACTIVATION_ATTR, optional_attrs=ACTIVATION_ATTR,
    doc="2-d cross-correlation of (N, C, H, W) with (O, C/groups, kh, kw), plus an optional bias and a "
        "fused activation."))
CONV_TRANSPOSE2D = register(OpDef(
    "conv_transpose2d", forward=_conv_transpose2d_forward, vjp=_conv_transpose2d_vjp,
    infer=_conv_transpose2d_infer, smooth=True, attrs=_GEOMETRY + ("output_padding",),
    doc="The adjoint of conv2d in its input (a 'deconvolution'); weight (C_in, C_out/groups, kh, kw)."))
CONV2D_WEIGHT = register(OpDef(
    "conv2d_weight", forward=_conv2d_weight_forward, vjp=_conv2d_weight_vjp, infer=_conv2d_weight_infer,
    smooth=True, exportable=False, attrs=_GEOMETRY + ("kernel",),
    doc="The adjoint of conv2d in its weight: the weight gradient for input x and output gradient g."))


# ---- public functions ---------------------------------------------------------------------------
def pair_arg(op: str, name: str, value) -> tuple:
    """An int or a 1- or 2-sequence of ints as an (h, w) pair, or an OpError naming `op`."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) == 1:
        pair = pair * 2
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise OpError(op, f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def _padding(op: str, padding, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    """The (top, left, bottom, right) attribute for an int, a pair, "valid" or "same" (as
    PyTorch: the odd pixel of an even receptive field goes at the end)."""
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise OpError(op, f"padding='same' needs stride 1, got stride {stride}")
        spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return flat_padding([(s // 2, s - s // 2) for s in spans])
    if isinstance(padding, str):
        raise OpError(op, f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    return pair_arg(op, "padding", padding) * 2


def batched(op: str, input, spatial: int):
    """`input` with a batch dim (PyTorch accepts one unbatched sample) and whether one was added."""
    if input.ndim == spatial + 1:
        return input.reshape((1,) + input.shape), True
    if input.ndim != spatial + 2:
        raise OpError(op, f"expects a {spatial + 1}-d or {spatial + 2}-d input, got shape {input.shape}")
    return input, False


def unbatch(out, unbatched: bool):
    """Undo `batched`: drop the batch dim it added."""
    return out.reshape(out.shape[1:]) if unbatched else out


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """2-d convolution (cross-correlation) as torch.nn.functional.conv2d; padding may be
    an int, a pair, "same" or "valid"."""
    x, unbatched = batched("conv2d", input, 2)
    stride, dilation = pair_arg("conv2d", "stride", stride), pair_arg("conv2d", "dilation", dilation)
    if weight.ndim != 4:
        raise OpError("conv2d", f"expects a 4-d weight (O, C/groups, kh, kw), got shape {weight.shape}")
    # kernel sizes are static (the C runtime needs constant padding), so read them off the data
    # rather than through a tracer, which would make the padding a graph value
    pad = _padding("conv2d", padding, weight.data.shape[2:], dilation, stride)
    out = apply(CONV2D, (x, weight, bias), {"stride": stride, "padding": pad, "dilation": dilation,
                                            "groups": int(groups)})
    return unbatch(out, unbatched)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1):
    """1-d convolution as torch.nn.functional.conv1d: conv2d over a height-1 image."""
    x, unbatched = batched("conv1d", input, 1)
    if weight.ndim != 3:
        raise OpError("conv1d", f"expects a 3-d weight (O, C/groups, k), got shape {weight.shape}")
    if isinstance(padding, str):
        pad = _padding("conv1d", padding, (1,) + weight.data.shape[2:], (1, _single(dilation)), (1, _single(stride)))
    else:
        pad = (0, _single(padding), 0, _single(padding))
    x4 = x.reshape(x.shape[:2] + (1,) + x.shape[2:])
    w4 = weight.reshape(weight.shape[:2] + (1,) + weight.shape[2:])
    out = apply(CONV2D, (x4, w4, bias), {"stride": (1, _single(stride)), "padding": pad,
                                         "dilation": (1, _single(dilation)), "groups": int(groups)})
    out = out.reshape(out.shape[:2] + out.shape[3:])
    return unbatch(out, unbatched)


def _single(value) -> int:
    return value if isinstance(value, int) else int(value[0])


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1,
                     dilation=1):
    """Transposed 2-d convolution as torch.nn.functional.conv_transpose2d."""
    x, unbatched = batched("conv_transpose2d", input, 2)
    stride = pair_arg("conv_transpose2d", "stride", stride)
    dilation = pair_arg("conv_transpose2d", "dilation", dilation)
    output_padding = pair_arg("conv_transpose2d", "output_padding", output_padding)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise OpError("conv_transpose2d", f"output_padding {output_padding} must be smaller than stride "
                      f"{stride} or dilation {dilation}")
    if weight.ndim != 4:
        raise OpError("conv_transpose2d", f"expects a 4-d weight (C_in, C_out/groups, kh, kw), got {weight.shape}")
    pad = pair_arg("conv_transpose2d", "padding", padding) * 2
    out = apply(CONV_TRANSPOSE2D, (x, weight, bias), {"stride": stride, "padding": pad, "dilation": dilation,
                                                      "groups": int(groups), "output_padding": output_padding})
    return unbatch(out, unbatched)
