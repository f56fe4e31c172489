"""`RMSprop`, with momentum and the centered variant."""
from __future__ import annotations

from collections.abc import Iterable

from ..backend import xp_of
from ._state import buffer, next_step
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """PyTorch's RMSprop: divide the gradient by a running RMS (minus the squared running mean
    when `centered`), optionally through a momentum buffer."""

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        for name, value in (("learning rate", lr), ("epsilon value", eps), ("momentum value", momentum),
                            ("weight_decay value", weight_decay), ("alpha value", alpha)):
            if value < 0.0:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, param, grad, state: dict, group: dict) -> None:
        alpha = group["alpha"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        next_step(state)
        square_avg = buffer(state, "square_avg", param)
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = buffer(state, "grad_avg", param)
            grad_avg += (1 - alpha) * (grad - grad_avg)
            avg = xp_of(param).sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = xp_of(param).sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = buffer(state, "momentum_buffer", param)
            buf *= group["momentum"]
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * (grad / avg)
