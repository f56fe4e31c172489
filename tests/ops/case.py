"""One row of the op test table, and input makers shared by the `cases_*.py` modules.

`fn(m, *xs)` is written once against a module `m` that is either `eager` or `torch` (their
names agree), so the same row checks our forward against the NumPy `ref`, our VJP against
finite differences (float64), second order for smooth ops, and our values against PyTorch.
Adding an op to the registry without a row here fails `test_every_op_has_a_case`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Case:
    op: str  # the registry op this row covers
    fn: Callable  # fn(m, *inputs) with m = eager or torch
    ref: Callable | None  # NumPy reference over float64 arrays; None: compare with PyTorch only
    shapes: list  # float64 random inputs of these shapes ...
    make: Callable | None = None  # ... or make(rng) -> list of arrays (ints, masks, positives)
    grad: bool = True  # check the VJP against finite differences
    gradgrad: bool = False  # also second order
    grad_inputs: tuple | None = None  # which inputs require grad (None: every float input)
    torch: bool = True  # compare with PyTorch when installed
    id: str = ""
    extra: dict = field(default_factory=dict)

    def inputs(self, rng) -> list:
        if self.make is not None:
            return self.make(rng)
        return [rng.standard_normal(s) for s in self.shapes]


def positive(*shapes, low=0.5):
    return lambda rng: [rng.uniform(low, 2.0, s) for s in shapes]


def away_from_zero(*shapes):
    """Inputs kept off kinks (relu, abs, clamp) so finite differences are valid."""
    def make(rng):
        out = []
        for s in shapes:
            x = rng.uniform(0.2, 2.0, s) * rng.choice([-1.0, 1.0], s)
            out.append(x)
        return out
    return make


