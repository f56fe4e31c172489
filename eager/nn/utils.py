"""`eager.nn.utils`: gradient clipping (in place, on `.grad` arrays, no autograd)."""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..backend import xp_of
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "zero_grads_"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so their joint `norm_type` norm is at most `max_norm`;
    returns the norm before clipping (as PyTorch)."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._wrap(np.asarray(0.0, dtype=np.float32))
    norm_type = float(norm_type)
    xp = xp_of(grads[0].data)
    if math.isinf(norm_type):
        norms = [xp.abs(g.data).max() for g in grads]
        total = xp.max(xp.stack([xp.asarray(n, dtype=np.float64) for n in norms]))
    else:
        per = [xp.sum(xp.abs(g.data.astype(np.float64)) ** norm_type) for g in grads]
        total = xp.sum(xp.stack(per)) ** (1.0 / norm_type)
    total_value = float(total)
    if error_if_nonfinite and not math.isfinite(total_value):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(max_norm / (total_value + 1e-6), 1.0)
    if coef < 1.0:
        for g in grads:  # new arrays: backward may hand one gradient array to several leaves
            g.data = g.data * g.data.dtype.type(coef)
    return Tensor._wrap(xp.asarray(total_value, dtype=grads[0].data.dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value] in place."""
    for g in _grads(parameters):
        g.data = xp_of(g.data).clip(g.data, -clip_value, clip_value)


def zero_grads_(parameters: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Clear gradients (to None, or to zeros); what Module.zero_grad and Optimizer.zero_grad do."""
    for p in parameters:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:  # a new array: backward may hand one gradient array to several leaves
            p.grad.data = p.grad.data * 0
