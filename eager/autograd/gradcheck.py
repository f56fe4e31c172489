"""Numerical gradient checks: the VJP of a function against central finite differences."""
from __future__ import annotations

import numpy as np


def _numerical_jacobian_vjp(fn, inputs, index, grad_out, eps):
    x = inputs[index]
    flat = x.data.reshape(-1)
    result = np.zeros(flat.shape, dtype=np.float64)
    for k in range(flat.size):  # grad mode stays on: gradgradcheck differentiates inside fn
        orig = flat[k].item()
        flat[k] = orig + eps
        plus = [o.data.copy() for o in _as_tuple(fn(*inputs))]  # outputs may be views of x
        flat[k] = orig - eps
        minus = [o.data.copy() for o in _as_tuple(fn(*inputs))]
        flat[k] = orig
        result[k] = sum(float(np.sum((p - m) * g)) for p, m, g in zip(plus, minus, grad_out)
                        if p.dtype.kind == "f") / (2 * eps)
    return result.reshape(x.shape)


def _as_tuple(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, seed: int = 0) -> bool:
    """Check `fn`'s analytic VJP against central differences for every input that requires grad.

    `inputs` are float64 tensors; a random cotangent is used for each output. Returns True,
    or raises (or returns False with `raise_exception=False`) naming the input and the error.
    """
    from ..autograd.engine import grad

    rng = np.random.default_rng(seed)
    outs = _as_tuple(fn(*inputs))
    diff = [o for o in outs if o.requires_grad]
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    wrt = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    from ..tensor import Tensor

    analytic = grad([o for o in outs if o.requires_grad],
                    [inputs[i] for i in wrt],
                    [Tensor._wrap(c.astype(o.data.dtype)) for o, c in zip(outs, cotangents) if o.requires_grad],
                    allow_unused=True) if diff else [None] * len(wrt)
    for i, g in zip(wrt, analytic):
        numeric = _numerical_jacobian_vjp(fn, inputs, i, cotangents, eps)
        got = np.zeros_like(numeric) if g is None else np.asarray(g.data, dtype=np.float64)
        if not np.allclose(got, numeric, atol=atol, rtol=rtol):
            err = float(np.max(np.abs(got - numeric)))
            if raise_exception:
                raise AssertionError(f"gradcheck: input {i}: analytic and numerical gradients differ "
                                     f"(max abs error {err:.3g})\nanalytic:\n{got}\nnumerical:\n{numeric}")
            return False
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of the function x -> VJP(fn)(x) with create_graph."""
    from ..autograd.engine import grad
    from ..tensor import Tensor

    rng = np.random.default_rng(seed + 1)
    outs = _as_tuple(fn(*inputs))
    cot = [Tensor._wrap(rng.standard_normal(o.shape).astype(o.data.dtype)) for o in outs]
    wrt = [t for t in inputs if getattr(t, "requires_grad", False)]

    def first_order(*xs):
        ys = [o for o in _as_tuple(fn(*xs)) if o.requires_grad]
        gs = grad(ys, [x for x in xs if getattr(x, "requires_grad", False)], cot[:len(ys)],
                  create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    if not wrt:
        return True
    return gradcheck(first_order, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
