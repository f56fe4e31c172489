"""`Adagrad`: per-coordinate learning rates from the sum of squared gradients."""
from __future__ import annotations

from collections.abc import Iterable

from ..backend import xp_of
from ._state import buffer, next_step
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """PyTorch's Adagrad: sum += g^2; p -= lr / (1 + (step - 1) * lr_decay) * g / (sqrt(sum) + eps)."""

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        for name, value in (("learning rate", lr), ("lr_decay value", lr_decay), ("epsilon value", eps),
                            ("weight_decay value", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value)):
            if value < 0.0:
                raise ValueError(f"Invalid {name}: {value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def _update(self, param, grad, state: dict, group: dict) -> None:
        if group["maximize"]:
            grad = -grad
        step = next_step(state)
        state_sum = buffer(state, "sum", param, group["initial_accumulator_value"])
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum += grad * grad
        param -= clr * (grad / (xp_of(param).sqrt(state_sum) + group["eps"]))
