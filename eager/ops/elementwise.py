"""Elementwise ops: arithmetic, activations, comparisons, logic, casts (all broadcasting)."""
from __future__ import annotations

import math

from .. import dtypes as _dt
from ..errors import OpError
from .convert import promote_operands, to_tensor
from .dispatch import apply
from .registry import OpDef, Spec, register
from .rules import comparison, elementwise, same_as_first


def _unary(name, forward, vjp=None, smooth=True, needs_input_values=True, attrs=(), infer=None):
    return register(OpDef(name, forward=forward, infer=infer or same_as_first, vjp=vjp, elementwise=True,
                          smooth=smooth, needs_input_values=needs_input_values, attrs=attrs))


def _binary(name, forward, vjp=None, smooth=True, needs_input_values=True, infer=None):
    return register(OpDef(name, forward=forward, infer=infer or elementwise(name), vjp=vjp,
                          elementwise=True, smooth=smooth, needs_input_values=needs_input_values))


def reduce_to(g, shape):
    """Sum a broadcast gradient back to `shape` (the VJP of broadcasting)."""
    if g.shape == shape:
        return g
    from .reduction import sum_to_size

    return sum_to_size(g, shape)


# ---- arithmetic ------------------------------------------------------------------------------
ADD = _binary("add", lambda xp, a, b: a + b, needs_input_values=False,
              vjp=lambda c, g: (reduce_to(g, c.inputs[0].shape), reduce_to(g, c.inputs[1].shape)))
SUB = _binary("sub", lambda xp, a, b: a - b, needs_input_values=False,
              vjp=lambda c, g: (reduce_to(g, c.inputs[0].shape), reduce_to(-g, c.inputs[1].shape)))
MUL = _binary("mul", lambda xp, a, b: a * b,
              vjp=lambda c, g: (reduce_to(g * c.inputs[1], c.inputs[0].shape),
                                reduce_to(g * c.inputs[0], c.inputs[1].shape)))


def _div_forward(xp, a, b):
    if a.dtype.kind != "f":  # true division of integers gives the default float, as PyTorch
        a, b = a.astype(_dt.default_float.np), b.astype(_dt.default_float.np)
    return a / b


DIV = _binary("div", _div_forward,
              infer=lambda a, b: Spec(a.dtype if a.dtype.is_floating_point else _dt.default_float,
                                      elementwise("div")(a, b).shape),
              vjp=lambda c, g: (reduce_to(g / c.inputs[1], c.inputs[0].shape),
                                reduce_to(-g * c.out() / c.inputs[1], c.inputs[1].shape)))
NEG = _unary("neg", lambda xp, a: -a, vjp=lambda c, g: -g, needs_input_values=False)


def _pow_vjp(c, g):
    a, b = c.inputs
    ga = reduce_to(g * b * pow(a, b - 1), a.shape)
    gb = None
    if b.requires_grad:
        gb = reduce_to(g * c.out() * log(where(a > 0, a, ones_scalar(a))), b.shape)
    return ga, gb


def ones_scalar(like):
    return to_tensor(1.0, like).to(like.dtype)


POW = _binary("pow", lambda xp, a, b: a ** b, vjp=_pow_vjp)
MAXIMUM = _binary("maximum", lambda xp, a, b: xp.maximum(a, b), smooth=False,
                  vjp=lambda c, g: _select_vjp(c, g, c.inputs[0] >= c.inputs[1]))
MINIMUM = _binary("minimum", lambda xp, a, b: xp.minimum(a, b), smooth=False,
                  vjp=lambda c, g: _select_vjp(c, g, c.inputs[0] <= c.inputs[1]))


def _select_vjp(c, g, take_first):
    a, b = c.inputs
    zero = g * 0
    return reduce_to(where(take_first, g, zero), a.shape), reduce_to(where(take_first, zero, g), b.shape)


WHERE = register(OpDef(
    "where", forward=lambda xp, cond, a, b: xp.where(cond, a, b),
    infer=elementwise("where", dtype_from=1), elementwise=True, smooth=True,
    vjp=lambda c, g: (None, reduce_to(where(c.inputs[0], g, g * 0), c.inputs[1].shape),
                      reduce_to(where(c.inputs[0], g * 0, g), c.inputs[2].shape))))

# ---- unary math ------------------------------------------------------------------------------
EXP = _unary("exp", lambda xp, a: xp.exp(a), vjp=lambda c, g: g * c.out())
LOG = _unary("log", lambda xp, a: xp.log(a), vjp=lambda c, g: g / c.inputs[0])
SQRT = _unary("sqrt", lambda xp, a: xp.sqrt(a), vjp=lambda c, g: g / (2 * c.out()))
RSQRT = _unary("rsqrt", lambda xp, a: 1 / xp.sqrt(a),
               vjp=lambda c, g: g * -0.5 * c.out() / c.inputs[0])
FLOOR = _unary("floor", lambda xp, a: xp.floor(a), smooth=False)
TRUNC = _unary("trunc", lambda xp, a: xp.trunc(a), smooth=False)
SIGN = _unary("sign", lambda xp, a: xp.sign(a), smooth=False)
ABS = _unary("abs", lambda xp, a: xp.abs(a), smooth=False, vjp=lambda c, g: g * sign(c.inputs[0]))
SIN = _unary("sin", lambda xp, a: xp.sin(a), vjp=lambda c, g: g * cos(c.inputs[0]))
COS = _unary("cos", lambda xp, a: xp.cos(a), vjp=lambda c, g: -g * sin(c.inputs[0]))
TANH = _unary("tanh", lambda xp, a: xp.tanh(a), vjp=lambda c, g: g * (1 - c.out() * c.out()))


def _sigmoid_forward(xp, a):
    # exp of a negative argument only, so large |a| neither overflows nor loses precision
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


SIGMOID = _unary("sigmoid", _sigmoid_forward, vjp=lambda c, g: g * c.out() * (1 - c.out()))
RELU = _unary("relu", lambda xp, a: xp.maximum(a, 0).astype(a.dtype, copy=False), smooth=False,
              vjp=lambda c, g: g * (c.out() > 0).to(g.dtype))
def _require_floating(name: str, dtype_name: str, floating: bool) -> None:
    """Ops PyTorch defines on floating tensors only (leaky_relu: an integer result of a float
    slope would need an out-of-range cast) refuse other dtypes by name."""
    if not floating:
        raise TypeError(f"{name} needs a floating-point tensor, got {dtype_name} (as PyTorch); convert first, "
                        "e.g. x.float()")


def _leaky_relu_forward(xp, a, negative_slope=0.01):
    _require_floating("leaky_relu", str(a.dtype), a.dtype.kind == "f")  # eager and the IR interpreter
    return xp.where(a > 0, a, a * negative_slope).astype(a.dtype)


def _leaky_relu_rule(a: Spec, **attrs) -> Spec:
    _require_floating("leaky_relu", a.dtype.name, a.dtype.is_floating_point)  # IR type inference
    return a


LEAKY_RELU = _unary(
    "leaky_relu", _leaky_relu_forward, smooth=False, attrs=("negative_slope",), infer=_leaky_relu_rule,
    vjp=lambda c, g: g * where(c.inputs[0] > 0, ones_scalar(g), to_tensor(c.attrs["negative_slope"], g)
                               .to(g.dtype)))


def erf_array(xp, x):
    """erf(x) to about 1.2e-7 (Numerical Recipes' erfc Chebyshev fit; NumPy has no erf)."""
    z = xp.abs(x).astype(x.dtype)
    t = 1 / (1 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    erfc = t * xp.exp(poly)
    return xp.where(x >= 0, 1 - erfc, erfc - 1).astype(x.dtype)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _gelu_forward(xp, a, approximate="none"):
    if approximate == "tanh":
        return (0.5 * a * (1 + xp.tanh(_SQRT_2_OVER_PI * (a + 0.044715 * a ** 3)))).astype(a.dtype)
    return (0.5 * a * (1 + erf_array(xp, a / math.sqrt(2)))).astype(a.dtype)


def _gelu_vjp(c, g):
    x = c.inputs[0]
    if c.attrs.get("approximate", "none") == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        th = tanh(inner)
        d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return g * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * d_inner)
    phi = exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return g * (0.5 * (1 + erf(x / math.sqrt(2))) + x * phi)


ERF = _unary("erf", erf_array,
             vjp=lambda c, g: g * (2 / math.sqrt(math.pi)) * exp(-c.inputs[0] * c.inputs[0]))
GELU = _unary("gelu", _gelu_forward, vjp=_gelu_vjp, attrs=("approximate",))
SILU = _unary("silu", lambda xp, a: (a * _sigmoid_forward(xp, a)).astype(a.dtype),
              vjp=lambda c, g: g * _silu_grad(c.inputs[0]))


def _silu_grad(x):
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


# The activations linear, matmul and conv2d can apply to their own output (their optional
# `activation` attribute, set by jitscript.passes.fuse_activation; TFLite's fused activation):
# name -> (row, attrs). The C kernels mirror this table (native_runtime/src/kernels/unary.c).
FUSED_ACTIVATIONS = {"relu": (RELU, {}), "gelu": (GELU, {"approximate": "none"}),
                     "gelu_tanh": (GELU, {"approximate": "tanh"}), "silu": (SILU, {}), "sigmoid": (SIGMOID, {}),
                     "tanh": (TANH, {})}
ACTIVATION_ATTR = ("activation",)


def apply_activation(name: str, xp, y):
    """`y` through the fused activation `name` by that op's own forward ("none": `y` itself)."""
    if name == "none":
        return y
    if name not in FUSED_ACTIVATIONS:
        raise OpError("activation", f"unknown fused activation {name!r}; expected 'none' or one of "
                      f"{sorted(FUSED_ACTIVATIONS)}")
    row, attrs = FUSED_ACTIVATIONS[name]
    return row.forward(xp, y, **attrs)


def check_unfused(op_name: str, attrs: dict) -> None:
    """Gradients are taken before fusion: a VJP refuses a node with a fused activation."""
    if attrs.get("activation", "none") != "none":
        raise OpError(op_name, f"no gradient through a fused activation ({attrs['activation']!r}); "
                      "differentiate the graph before jitscript.optimize")


def _softplus_forward(xp, a, beta=1.0, threshold=20.0):
    z = a * beta
    soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    return xp.where(z > threshold, a, soft).astype(a.dtype)


SOFTPLUS = _unary("softplus", _softplus_forward, attrs=("beta", "threshold"),
                  vjp=lambda c, g: g * where(c.inputs[0] * c.attrs.get("beta", 1.0) > c.attrs.get("threshold", 20.0),
                                             ones_scalar(g), sigmoid(c.inputs[0] * c.attrs.get("beta", 1.0))))


def _clamp_forward(xp, a, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    return xp.clip(a, min, max).astype(a.dtype, copy=False)


def _clamp_vjp(c, g):
    x, lo, hi = c.inputs[0], c.attrs.get("min"), c.attrs.get("max")
    mask = (x == x)
    if lo is not None:
        mask = logical_and(mask, x >= lo)
    if hi is not None:
        mask = logical_and(mask, x <= hi)
    return g * mask.to(g.dtype)


CLAMP = _unary("clamp", _clamp_forward, vjp=_clamp_vjp, smooth=False, attrs=("min", "max"))

# ---- comparisons and logic (no gradient) -------------------------------------------------------
def _cmp(name, fn):
    return register(OpDef(name, forward=fn, infer=comparison(name), elementwise=True))


EQ = _cmp("eq", lambda xp, a, b: a == b)
NE = _cmp("ne", lambda xp, a, b: a != b)
LT = _cmp("lt", lambda xp, a, b: a < b)
LE = _cmp("le", lambda xp, a, b: a <= b)
GT = _cmp("gt", lambda xp, a, b: a > b)
GE = _cmp("ge", lambda xp, a, b: a >= b)
LOGICAL_AND = _cmp("logical_and", lambda xp, a, b: xp.logical_and(a, b))
LOGICAL_OR = _cmp("logical_or", lambda xp, a, b: xp.logical_or(a, b))
LOGICAL_XOR = _cmp("logical_xor", lambda xp, a, b: xp.logical_xor(a, b))
LOGICAL_NOT = register(OpDef("logical_not", forward=lambda xp, a: xp.logical_not(a),
                             infer=lambda a: Spec(_dt.bool_, a.shape), elementwise=True))
ISNAN = register(OpDef("isnan", forward=lambda xp, a: xp.isnan(a),
                       infer=lambda a: Spec(_dt.bool_, a.shape), elementwise=True))

# ---- casts -------------------------------------------------------------------------------------
CAST = register(OpDef(
    "cast", forward=lambda xp, a, dtype: a.astype(dtype.np), attrs=("dtype",), elementwise=True,
    infer=lambda a, dtype: Spec(dtype, a.shape), needs_input_values=False,
    vjp=lambda c, g: cast(g, c.inputs[0].dtype) if c.inputs[0].dtype.is_floating_point else None))


# ---- public functions --------------------------------------------------------------------------
def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return apply(ADD, promote_operands(input, other), {})


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return apply(SUB, promote_operands(input, other), {})


def mul(input, other):
    """Elementwise product, broadcasting."""
    return apply(MUL, promote_operands(input, other), {})


def div(input, other, *, rounding_mode=None):
    """True division (integers give float32); `rounding_mode` "floor" or "trunc" as PyTorch."""
    out = apply(DIV, promote_operands(input, other), {})
    if rounding_mode is None:
        return out
    rounded = floor(out) if rounding_mode == "floor" else trunc(out)
    return rounded if input.dtype.is_floating_point else cast(rounded, input.dtype)


def neg(input):
    """-input."""
    return apply(NEG, (input,), {})


def pow(input, exponent):  # noqa: A001 - PyTorch's name
    """input ** exponent, broadcasting; either may be a Python number."""
    return apply(POW, promote_operands(input, exponent), {})


def maximum(input, other):
    """Elementwise maximum (gradient goes to the first on ties)."""
    return apply(MAXIMUM, promote_operands(input, other), {})


def minimum(input, other):
    """Elementwise minimum (gradient goes to the first on ties)."""
    return apply(MINIMUM, promote_operands(input, other), {})


def where(condition, input, other):
    """`input` where `condition` is true, else `other`, broadcasting all three."""
    a, b = promote_operands(input, other)
    return apply(WHERE, (to_tensor(condition, a), a, b), {})


def _named(fn, op, doc):
    fn.__name__ = op.name
    fn.__doc__ = doc
    return fn


def _unary_fn(op, doc):
    return _named(lambda input: apply(op, (input,), {}), op, doc)


exp = _unary_fn(EXP, "e ** input.")
log = _unary_fn(LOG, "Natural logarithm.")
sqrt = _unary_fn(SQRT, "Square root.")
rsqrt = _unary_fn(RSQRT, "1 / sqrt(input).")
floor = _unary_fn(FLOOR, "Round down (no gradient).")
trunc = _unary_fn(TRUNC, "Round toward zero (no gradient).")
sign = _unary_fn(SIGN, "-1, 0 or 1 by sign (no gradient).")
abs = _unary_fn(ABS, "Absolute value.")  # noqa: A001
sin = _unary_fn(SIN, "Sine.")
cos = _unary_fn(COS, "Cosine.")
tanh = _unary_fn(TANH, "Hyperbolic tangent.")
sigmoid = _unary_fn(SIGMOID, "1 / (1 + exp(-input)), computed without overflow.")
relu = _unary_fn(RELU, "max(input, 0).")
erf = _unary_fn(ERF, "The error function.")
silu = _unary_fn(SILU, "input * sigmoid(input).")
logical_not = _unary_fn(LOGICAL_NOT, "Elementwise not.")
isnan = _unary_fn(ISNAN, "True where input is NaN.")


def leaky_relu(input, negative_slope: float = 0.01):
    """input where positive, else negative_slope * input (floating-point tensors only)."""
    return apply(LEAKY_RELU, (input,), {"negative_slope": float(negative_slope)})


def gelu(input, approximate: str = "none"):
    """Gaussian error linear unit; `approximate="tanh"` for the tanh form."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return apply(GELU, (input,), {"approximate": approximate})


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta * input)) / beta, linear where beta * input > threshold."""
    return apply(SOFTPLUS, (input,), {"beta": float(beta), "threshold": float(threshold)})


def clamp(input, min=None, max=None):  # noqa: A002
    """Limit values to [min, max] (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    return apply(CLAMP, (input,), {"min": None if min is None else float(min),
                                   "max": None if max is None else float(max)})


def _comparison_fn(op, doc):
    return _named(lambda input, other: apply(op, promote_operands(input, other), {}), op, doc)


eq = _comparison_fn(EQ, "input == other (bool).")
ne = _comparison_fn(NE, "input != other (bool).")
lt = _comparison_fn(LT, "input < other (bool).")
le = _comparison_fn(LE, "input <= other (bool).")
gt = _comparison_fn(GT, "input > other (bool).")
ge = _comparison_fn(GE, "input >= other (bool).")
logical_and = _comparison_fn(LOGICAL_AND, "Elementwise and.")
logical_or = _comparison_fn(LOGICAL_OR, "Elementwise or.")
logical_xor = _comparison_fn(LOGICAL_XOR, "Elementwise xor.")


def check_bitwise_dtypes(symbol: str, dtypes) -> None:
    """`&`, `|`, `^` and `~` compute on bool tensors only (as logical and/or/xor/not). Floats have
    no bitwise ops (PyTorch raises too) and PyTorch's integer bitwise ops are not implemented
    here: both raise instead of returning a logical result. `dtypes`: None for unknown ones."""
    bad = [d for d in dtypes if d is not None and d is not _dt.bool_]
    if not bad:
        return
    names = " and ".join(d.name for d in bad)
    why = ("bitwise ops need integer or bool tensors" if any(d.is_floating_point for d in bad)
           else "bitwise ops on integer tensors are not implemented (only bool)")
    raise TypeError(f"{symbol} on {names}: {why}; for masks compare first, e.g. (a > 0) {symbol} (b > 0)"
                    if symbol != "~" else f"~ on {names}: {why}; for masks use logical_not(a > 0)")


def _operand_dtype(x) -> _dt.DType:
    if isinstance(x, bool):
        return _dt.bool_
    if isinstance(x, (int, float)):
        return _dt.int64 if isinstance(x, int) else _dt.default_float
    return getattr(x, "dtype", None)


def _bitwise(symbol: str, logical):
    def operator(*operands):
        check_bitwise_dtypes(symbol, [_operand_dtype(x) for x in operands])
        return logical(*operands)

    operator.__name__ = logical.__name__
    operator.__doc__ = f"`{symbol}` on bool tensors: {logical.__name__}; other dtypes raise TypeError."
    return operator


bitwise_and = _bitwise("&", logical_and)
bitwise_or = _bitwise("|", logical_or)
bitwise_xor = _bitwise("^", logical_xor)
bitwise_not = _bitwise("~", logical_not)


def cast(input, dtype):
    """`input` converted to `dtype` (differentiable between floating types)."""
    dtype = _dt.to_dtype(dtype)
    if input.dtype is dtype:
        return input
    return apply(CAST, (input,), {"dtype": dtype})
