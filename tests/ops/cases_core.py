"""Op test rows for the core ops: elementwise, reductions, shape, linear algebra."""
from __future__ import annotations

import math

import numpy as np

from .case import Case, away_from_zero, positive


def _erf(x):
    return np.vectorize(math.erf)(x)


CASES: list[Case] = [
    # ---- elementwise arithmetic ----
    Case("add", lambda m, a, b: m.add(a, b), np.add, [(3, 4), (4,)], gradgrad=True),
    Case("add", lambda m, a: a + 2.5, lambda a: a + 2.5, [(3,)], id="scalar"),
    Case("sub", lambda m, a, b: a - b, np.subtract, [(2, 3), (2, 1)], gradgrad=True),
    Case("mul", lambda m, a, b: a * b, np.multiply, [(2, 3), (3,)], gradgrad=True),
    Case("div", lambda m, a, b: a / b, np.divide, [(2, 3)], make=lambda r: [r.standard_normal((2, 3)),
                                                                            r.uniform(0.5, 2, (3,))],
         gradgrad=True),
    Case("neg", lambda m, a: -a, np.negative, [(4,)]),
    Case("pow", lambda m, a, b: m.pow(a, b), np.power, [], make=positive((3,), (3,)), gradgrad=True),
    Case("pow", lambda m, a: a ** 2, lambda a: a ** 2, [(3,)], id="scalar-exponent", gradgrad=True),
    Case("maximum", lambda m, a, b: m.maximum(a, b), np.maximum, [(3, 2), (3, 2)]),
    Case("minimum", lambda m, a, b: m.minimum(a, b), np.minimum, [(3, 2), (2,)]),
    Case("where", lambda m, c, a, b: m.where(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
         [(3, 2), (3, 2), (2,)], grad_inputs=(1, 2)),
    # ---- unary math ----
    Case("exp", lambda m, a: m.exp(a), np.exp, [(3,)], gradgrad=True),
    Case("log", lambda m, a: m.log(a), np.log, [], make=positive((3,)), gradgrad=True),
    Case("sqrt", lambda m, a: m.sqrt(a), np.sqrt, [], make=positive((3,)), gradgrad=True),
    Case("rsqrt", lambda m, a: m.rsqrt(a), lambda a: 1 / np.sqrt(a), [], make=positive((3,)), gradgrad=True),
    Case("abs", lambda m, a: m.abs(a), np.abs, [], make=away_from_zero((4,))),
    Case("sign", lambda m, a: m.sign(a), np.sign, [(4,)], grad=False),
    Case("floor", lambda m, a: m.floor(a), np.floor, [(4,)], grad=False),
    Case("trunc", lambda m, a: m.trunc(a), np.trunc, [(4,)], grad=False),
    Case("sin", lambda m, a: m.sin(a), np.sin, [(3,)], gradgrad=True),
    Case("cos", lambda m, a: m.cos(a), np.cos, [(3,)], gradgrad=True),
    Case("tanh", lambda m, a: m.tanh(a), np.tanh, [(3,)], gradgrad=True),
    Case("sigmoid", lambda m, a: m.sigmoid(a), lambda a: 1 / (1 + np.exp(-a)), [(3, 2)], gradgrad=True),
    Case("relu", lambda m, a: m.relu(a), lambda a: np.maximum(a, 0), [], make=away_from_zero((3, 2))),
    Case("leaky_relu", lambda m, a: m.nn.functional.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a),
         [], make=away_from_zero((5,))),
    Case("erf", lambda m, a: m.erf(a), _erf, [(5,)], gradgrad=True),
    Case("gelu", lambda m, a: m.nn.functional.gelu(a), lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2))),
         [(5,)], gradgrad=True),
    Case("gelu", lambda m, a: m.nn.functional.gelu(a, approximate="tanh"),
         lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))), [(5,)],
         id="tanh", gradgrad=True),
    Case("silu", lambda m, a: m.nn.functional.silu(a), lambda a: a / (1 + np.exp(-a)), [(5,)], gradgrad=True),
    Case("softplus", lambda m, a: m.nn.functional.softplus(a), lambda a: np.log1p(np.exp(a)), [(5,)],
         gradgrad=True),
    Case("clamp", lambda m, a: m.clamp(a, -0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [],
         make=lambda r: [r.choice([-1.0, -0.2, 0.1, 0.3, 1.2], (6,))]),
    # ---- comparisons and logic ----
    Case("eq", lambda m, a, b: m.eq(a, b), np.equal, [], make=lambda r: [r.integers(0, 2, (4,)) * 1.0] * 2,
         grad=False),
    Case("ne", lambda m, a, b: a != b, np.not_equal, [(4,), (4,)], grad=False),
    Case("lt", lambda m, a, b: a < b, np.less, [(4,), (4,)], grad=False),
    Case("le", lambda m, a, b: a <= b, np.less_equal, [(4,), (4,)], grad=False),
    Case("gt", lambda m, a, b: a > b, np.greater, [(4,), (4,)], grad=False),
    Case("ge", lambda m, a, b: a >= b, np.greater_equal, [(4,), (4,)], grad=False),
    Case("logical_and", lambda m, a, b: m.logical_and(a > 0, b > 0), lambda a, b: (a > 0) & (b > 0),
         [(4,), (4,)], grad=False),
    Case("logical_or", lambda m, a, b: m.logical_or(a > 0, b > 0), lambda a, b: (a > 0) | (b > 0),
         [(4,), (4,)], grad=False),
    Case("logical_xor", lambda m, a, b: m.logical_xor(a > 0, b > 0), lambda a, b: (a > 0) ^ (b > 0),
         [(4,), (4,)], grad=False),
    Case("logical_not", lambda m, a: m.logical_not(a > 0), lambda a: ~(a > 0), [(4,)], grad=False),
    Case("isnan", lambda m, a: m.isnan(m.log(a)), lambda a: np.isnan(np.log(np.abs(a)) * np.where(a > 0, 1, np.nan)),
         [(6,)], grad=False, torch=False),
    Case("cast", lambda m, a: a.to(m.float64), lambda a: a.astype(np.float64), [],
         make=lambda r: [r.standard_normal(3).astype(np.float32)], extra={"eps": 1e-2, "atol": 1e-4}),
    # ---- reductions ----
    Case("sum", lambda m, a: m.sum(a, 1), lambda a: a.sum(1), [(3, 4)], gradgrad=True),
    Case("sum", lambda m, a: a.sum(), lambda a: a.sum(), [(3, 4)], id="all"),
    Case("sum", lambda m, a: a.sum((0, 2), keepdim=True), lambda a: a.sum((0, 2), keepdims=True), [(2, 3, 4)],
         id="keepdim"),
    Case("mean", lambda m, a: a.mean(-1), lambda a: a.mean(-1), [(3, 4)], gradgrad=True),
    Case("sum_to_size", lambda m, a: a.sum_to_size(3, 1), lambda a: a.sum((0, 2), keepdims=True)[0],
         [(2, 3, 4)], torch=True),
    # ---- shape ----
    Case("reshape", lambda m, a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [(2, 3, 2)], gradgrad=True),
    Case("expand", lambda m, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)), [(3, 1)]),
    Case("permute", lambda m, a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)]),
    Case("permute", lambda m, a: a.transpose(0, 1), lambda a: a.T, [(2, 3)], id="transpose"),
    Case("to_device", lambda m, a: a.to("cpu"), lambda a: a, [(3,)]),
    # ---- linear algebra ----
    Case("matmul", lambda m, a, b: a @ b, np.matmul, [(3, 4), (4, 2)], gradgrad=True),
    Case("matmul", lambda m, a, b: m.matmul(a, b), np.matmul, [(2, 1, 3, 4), (5, 4, 2)], id="batched-broadcast"),
    Case("matmul", lambda m, a, b: m.matmul(a, b), np.matmul, [(4,), (2, 4, 3)], id="vector-left"),
    Case("matmul", lambda m, a, b: m.matmul(a, b), np.matmul, [(2, 3, 4), (4,)], id="vector-right"),
    Case("linear", lambda m, x, w, b: m.nn.functional.linear(x, w, b), lambda x, w, b: x @ w.T + b,
         [(2, 5, 3), (4, 3), (4,)], gradgrad=True),
]
