"""The float32 activations of the C kernels (vmath.h, unary.c) against float64 references, the
row kernels built on them (softmax, layer_norm), and the activations fused into linear, matmul
and conv2d.

These loops run vectorized, and on x86-64 in an AVX2 copy picked at run time; every path must
stay accurate over the whole float range (tiny, huge, +-inf, NaN, -0) and at lengths that are
not multiples of the vector width, and the dispatched and portable builds must agree bit for bit.
"""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from eager.ops import REGISTRY
from eager.ops.elementwise import FUSED_ACTIVATIONS

from .kernel_lib import KernelError, Kernels, build

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-30, -1e-30, 1e-7, -1e-7, 0.625, -0.625,
           9.0, -9.0, 10.5, -10.5, 40.0, -40.0, 87.3, -87.3, 88.7, -88.7, 89.0, -104.0, 1e30, -1e30,
           3.4e38, -3.4e38]


def _inputs() -> np.ndarray:
    """Special values, a dense sweep of [-12, 12] and a log-spaced sweep out to float32's max."""
    rng = np.random.default_rng(0)
    mags = np.logspace(-38, 38.5, 4001)
    return np.concatenate([SPECIAL, np.linspace(-12, 12, 24001), mags, -mags,
                           rng.standard_normal(4001) * 3]).astype(np.float32)


def _erf(x: np.ndarray) -> np.ndarray:
    return torch.special.erf(torch.from_numpy(x)).numpy()


def _sigmoid(x):
    return torch.sigmoid(torch.from_numpy(x)).numpy()


# (kernel, attrs, float64 reference, absolute tolerance, relative tolerance)
ACTIVATIONS = {
    "tanh": ({}, np.tanh, 2e-7, 2e-6),
    "sigmoid": ({}, _sigmoid, 1e-7, 2e-6),
    "silu": ({}, lambda x: x * _sigmoid(x), 1e-7, 2e-6),
    "gelu": ({"approximate": "none"}, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), 2e-7, 2e-6),
    "gelu_tanh": ({"approximate": "tanh"},
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))), 2e-7, 2e-6),
    # below -87.34 the result would be subnormal: flushed to 0 (an error under FLT_MIN)
    "exp": ({}, np.exp, 1.2e-38, 3e-7),
    "erf": ({}, _erf, 1.5e-7, 0.0),
}


@pytest.fixture(scope="module")
def dispatched(tmp_path_factory) -> Kernels:
    return Kernels(build(tmp_path_factory.mktemp("vec")))


@pytest.fixture(scope="module")
def portable(tmp_path_factory) -> Kernels:
    return Kernels(build(tmp_path_factory.mktemp("portable"), ("-DESM_NO_VEC_DISPATCH",)))


def _run(kernels: Kernels, name: str, x: np.ndarray) -> np.ndarray:
    attrs = ACTIVATIONS[name][0]
    return kernels.run("gelu" if name.startswith("gelu") else name, [x], attrs)[0]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float32_activation_accuracy(dispatched, name):
    _, reference, atol, rtol = ACTIVATIONS[name]
    x = _inputs()
    got = _run(dispatched, name, x)
    with np.errstate(over="ignore", invalid="ignore"):
        want = reference(x.astype(np.float64))
        want32 = want.astype(np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{name}: NaN where the reference has none")
    # a result beyond float32's range is +-inf, as the reference rounded to float32
    finite = np.isfinite(want32)
    np.testing.assert_array_equal(got[~finite], want32[~finite])
    err = np.abs(got[finite].astype(np.float64) - want[finite])
    bound = atol + rtol * np.abs(want[finite]) + np.spacing(np.abs(want[finite]).astype(np.float32))
    worst = int(np.argmax(err - bound))
    assert np.all(err <= bound), (f"{name}: x={x[finite][worst]!r} got {got[finite][worst]!r} "
                                  f"want {want[finite][worst]!r}")
    if name in ("tanh", "erf"):  # odd functions: the sign of zero survives, as in PyTorch
        np.testing.assert_array_equal(np.signbit(_run(dispatched, name, np.array([-0.0, 0.0], np.float32))),
                                      [True, False])


@pytest.mark.parametrize("name, lo, hi, max_ulp", [("erf", -38, 0, 3), ("tanh", -38, 1, 3), ("exp", -38, 1.94, 1)])
def test_float32_ulp_error(dispatched, name, lo, hi, max_ulp):
    """Relative accuracy where the values are small (erf and tanh near 0: no cancellation) and
    over exp's whole normal range, in units of float32's spacing at the true value."""
    mags = np.logspace(lo, hi, 20001)
    x = np.concatenate([mags, -mags]).astype(np.float32)
    want = ACTIVATIONS[name][1](x.astype(np.float64))
    got = _run(dispatched, name, x).astype(np.float64)
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    ulp = np.abs(got - want)[normal] / np.spacing(np.abs(want[normal]).astype(np.float32))
    assert ulp.max() <= max_ulp, f"{name}: {ulp.max():.2f} ulp at x={x[normal][np.argmax(ulp)]!r}"


@pytest.mark.parametrize("n", [1, 3, 7, 8, 9, 17, 31, 1000])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_dispatched_and_portable_loops_agree_bitwise(dispatched, portable, name, n):
    """Odd lengths exercise the vector loops' tails; equal bits mean the AVX2 copy (when this CPU
    picks it) computes exactly the portable expression."""
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 6
    x[0] = -0.0 if n > 1 else x[0]
    a, b = _run(dispatched, name, x), _run(portable, name, x)
    np.testing.assert_array_equal(a.view(np.int32), b.view(np.int32))


# ---- the row kernels built on them: softmax (one exp loop over the whole tensor) and layer_norm
@pytest.mark.parametrize("length", [1, 3, 6, 8, 17, 64])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_last_dim_against_torch(dispatched, op, length):
    x = np.random.default_rng(length).standard_normal((5, 3, length)).astype(np.float32) * 8
    x[0, 0, 0] = np.nan  # a NaN makes its row NaN
    x[1, 1, :] = -np.inf  # so does a row of -inf (-inf - -inf)
    x[2, 2, -1] = 1e30  # a huge logit takes the whole mass
    got = dispatched.run(op, [x], {"dim": -1})[0]
    want = getattr(torch, op)(torch.from_numpy(x).double(), -1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    # log_softmax's x - (max + log(sum)) rounds to float32's spacing at |x| (up to ~30 here)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7 if op == "softmax" else 4e-6)


@pytest.mark.parametrize("inner", [1, 3, 8, 16, 17, 100])
def test_layer_norm_against_torch(dispatched, inner):
    rng = np.random.default_rng(inner)
    x = (rng.standard_normal((7, inner)) * 3 + 100).astype(np.float32)  # a large mean: two-pass variance
    w, b = rng.standard_normal(inner).astype(np.float32), rng.standard_normal(inner).astype(np.float32)
    got = dispatched.run("layer_norm", [x, w, b], {"normalized_shape": [inner], "eps": 1e-5})[0]
    want = torch.nn.functional.layer_norm(torch.from_numpy(x).double(), (inner,), torch.from_numpy(w).double(),
                                          torch.from_numpy(b).double(), 1e-5).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)


# ---- fused activations: the epilogue of linear, matmul and conv2d (kutil.h) against eager's rows
def _producer_case(producer: str, dtype, rng):
    if producer == "conv2d":
        inputs = [rng.standard_normal((2, 3, 5, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)]
        attrs = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
    elif producer == "linear":  # 17 output features: not a multiple of any vector width
        inputs, attrs = [rng.standard_normal((3, 5, 9)), rng.standard_normal((17, 9)), rng.standard_normal(17)], {}
    else:  # batched, with a broadcast right operand
        inputs, attrs = [rng.standard_normal((2, 3, 5, 9)), rng.standard_normal((9, 17))], {}
    return [(a * 3).astype(dtype) for a in inputs], attrs


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("activation", sorted(FUSED_ACTIVATIONS))
@pytest.mark.parametrize("producer", ["linear", "matmul", "conv2d"])
def test_fused_activation_matches_eager(dispatched, producer, activation, dtype):
    inputs, attrs = _producer_case(producer, dtype, np.random.default_rng(1))
    attrs = {**attrs, "activation": activation}
    got = dispatched.run(producer, inputs, attrs)[0]
    want = REGISTRY[producer].forward(np, *inputs, **attrs)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 if dtype == np.float32 else 1e-12)


def test_unknown_fused_activation_is_refused(dispatched):
    with pytest.raises(KernelError, match="UNSUPPORTED: .*unknown activation 'swish'"):
        dispatched.run("linear", [np.ones((2, 3), np.float32), np.ones((4, 3), np.float32)], {"activation": "swish"})
    with pytest.raises(KernelError, match="UNSUPPORTED: .*activation 'gelu' on int32"):
        dispatched.run("linear", [np.ones((2, 3), np.int32), np.ones((4, 3), np.int32)], {"activation": "gelu"})
