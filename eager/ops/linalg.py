"""Matrix products: matmul (batched, broadcasting), mm, bmm, linear."""
from __future__ import annotations

from ..errors import OpError
from .convert import promote_operands
from .dispatch import apply
from .elementwise import ACTIVATION_ATTR, apply_activation, check_unfused
from .registry import OpDef, Spec, register
from .rules import broadcast_shapes


def _matmul_shapes(a: tuple, b: tuple) -> tuple:
    if len(a) == 0 or len(b) == 0:
        raise OpError("matmul", f"both arguments need at least 1 dim, got {a} and {b}")
    a2 = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b2 = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    if a2[-1] != b2[-2] and isinstance(a2[-1], int) and isinstance(b2[-2], int):
        raise OpError("matmul", f"cannot multiply {tuple(a)} by {tuple(b)}: inner dimensions "
                      f"{a2[-1]} and {b2[-2]} differ")
    batch = broadcast_shapes("matmul", a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


# matmul's optional layout attributes, set by jitscript.passes.fold_layout: the product reads its
# operands through permutations and writes its result through one, so the permute copies around
# it (attention's heads split and merged) disappear into GEMM strides.
PERM_ATTRS = ("a_perm", "b_perm", "out_perm")


def _permuted(xp, x, perm):
    return x if perm is None else xp.transpose(x, perm)


def _permuted_shape(shape: tuple, perm) -> tuple:
    return tuple(shape) if perm is None else tuple(shape[p] for p in perm)


def _matmul_forward(xp, a, b, activation="none", a_perm=None, b_perm=None, out_perm=None):
    a, b = _permuted(xp, a, a_perm), _permuted(xp, b, b_perm)
    _matmul_shapes(a.shape, b.shape)
    y = _permuted(xp, apply_activation(activation, xp, xp.matmul(a, b)), out_perm)
    return y if out_perm is None else xp.ascontiguousarray(y)


def _matmul_infer(a, b, activation="none", a_perm=None, b_perm=None, out_perm=None):
    shape = _matmul_shapes(_permuted_shape(a.shape, a_perm), _permuted_shape(b.shape, b_perm))
    return Spec(a.dtype, _permuted_shape(shape, out_perm))


def _matmul_vjp(c, g):
    check_unfused("matmul", c.attrs)
    if any(c.attrs.get(name) is not None for name in PERM_ATTRS):
        raise OpError("matmul", "no gradient through folded layout attributes; differentiate the graph "
                      "before jitscript.optimize")
    a, b = c.inputs
    from .elementwise import reduce_to
    from .shape import reshape, transpose

    a2 = reshape(a, (1,) + a.shape) if a.ndim == 1 else a
    b2 = reshape(b, b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = reshape(g2, g2.shape[:-1] + (1,) + g2.shape[-1:]) if b.ndim > 1 else reshape(g2, g2.shape + (1,))
    if b.ndim == 1:
        g2 = reshape(g2, g2.shape + (1,))
    ga = matmul(g2, transpose(b2, -1, -2)) if a.requires_grad else None
    gb = matmul(transpose(a2, -1, -2), g2) if b.requires_grad else None
    if ga is not None:
        ga = reduce_to(ga, a2.shape)
        ga = reshape(ga, a.shape) if a.ndim == 1 else ga
    if gb is not None:
        gb = reduce_to(gb, b2.shape)
        gb = reshape(gb, b.shape) if b.ndim == 1 else gb
    return ga, gb


MATMUL = register(OpDef(
    "matmul", forward=_matmul_forward, vjp=_matmul_vjp, smooth=True, attrs=ACTIVATION_ATTR + PERM_ATTRS,
    optional_attrs=ACTIVATION_ATTR + PERM_ATTRS, infer=_matmul_infer))


def _linear_forward(xp, x, w, b=None, activation="none"):
    if x.shape[-1] != w.shape[-1]:
        raise OpError("linear", f"input of shape {x.shape} has {x.shape[-1]} features but the weight "
                      f"{w.shape} expects {w.shape[-1]}")
    out = x @ w.T
    return apply_activation(activation, xp, out if b is None else out + b)


def _linear_vjp(c, g):
    check_unfused("linear", c.attrs)
    x, w, b = c.inputs
    from .reduction import sum as sum_
    from .shape import reshape

    gx = matmul(g, w) if x.requires_grad else None
    g2 = reshape(g, (-1, g.shape[-1]))
    gw = matmul(g2.t(), reshape(x, (-1, x.shape[-1]))) if w.requires_grad else None
    gb = sum_(g2, 0) if b is not None and b.requires_grad else None
    return gx, gw, gb


def _linear_infer(x, w, b=None, activation="none"):
    if x.shape[-1] != w.shape[-1] and isinstance(x.shape[-1], int) and isinstance(w.shape[-1], int):
        raise OpError("linear", f"input of shape {x.shape} has {x.shape[-1]} features but the weight "
                      f"{w.shape} expects {w.shape[-1]}")
    return Spec(x.dtype, tuple(x.shape[:-1]) + (w.shape[0],))


LINEAR = register(OpDef("linear", forward=_linear_forward, vjp=_linear_vjp, infer=_linear_infer,
                        smooth=True, attrs=ACTIVATION_ATTR, optional_attrs=ACTIVATION_ATTR))


def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics (1-d operands, batch broadcasting)."""
    return apply(MATMUL, promote_operands(input, other), {})


def mm(input, mat2):
    """Product of two matrices."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise OpError("mm", f"expects two matrices, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def bmm(input, mat2):
    """Batched product of (b, n, m) and (b, m, p)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise OpError("bmm", f"expects (b, n, m) and (b, m, p), got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def linear(input, weight, bias=None):
    """input @ weight.T + bias."""
    return apply(LINEAR, (input, weight, bias), {})
