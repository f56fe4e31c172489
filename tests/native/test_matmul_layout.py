"""matmul's folded layout attributes (a_perm, b_perm, out_perm) in the C kernel against PyTorch:
the product reads permuted operands and writes a permuted result through GEMM strides."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from eager.ops import REGISTRY

from .kernel_lib import KernelError, Kernels, build

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:
    return Kernels(build(tmp_path_factory.mktemp("layout")))


def _reference(a, b, attrs):
    """torch's matmul of the permuted operands, permuted, with the optional activation."""
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ta = ta.permute(attrs["a_perm"]) if "a_perm" in attrs else ta
    tb = tb.permute(attrs["b_perm"]) if "b_perm" in attrs else tb
    y = ta @ tb
    y = torch.relu(y) if attrs.get("activation") == "relu" else y
    return (y.permute(attrs["out_perm"]) if "out_perm" in attrs else y).contiguous().numpy()


# (a shape, b shape, attrs): attention's head split (Q K^T, A V) and merge, odd sizes (1, 3, 17),
# broadcast batches, 1-d operands, a permuted batch.
CASES = [
    ((2, 6, 3, 8), (2, 6, 3, 8), {"a_perm": (0, 2, 1, 3), "b_perm": (0, 2, 3, 1)}),
    ((2, 3, 6, 6), (2, 6, 3, 8), {"b_perm": (0, 2, 1, 3), "out_perm": (0, 2, 1, 3)}),
    ((1, 17, 3, 5), (1, 17, 3, 5), {"a_perm": (0, 2, 1, 3), "b_perm": (0, 2, 3, 1), "out_perm": (2, 0, 1, 3)}),
    ((17, 9), (17, 3), {"a_perm": (1, 0)}),
    ((9, 17), (3, 9), {"a_perm": (1, 0), "b_perm": (1, 0), "out_perm": (0, 1)}),
    ((1, 4, 9), (9, 3, 17), {"b_perm": (1, 0, 2), "activation": "relu", "out_perm": (1, 0, 2)}),
    ((5, 9), (3, 17, 5), {"a_perm": (1, 0), "b_perm": (0, 2, 1), "out_perm": (1, 0, 2)}),
    ((9,), (2, 17, 9), {"b_perm": (0, 2, 1)}),
    ((2, 9, 3), (9,), {"a_perm": (0, 2, 1)}),
    ((3, 1, 7), (3, 7, 1), {"out_perm": (1, 0, 2)}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("a_shape, b_shape, attrs", CASES)
def test_folded_layout_matches_torch_and_eager(kernels, a_shape, b_shape, attrs, dtype):
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape))
    a, b = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
    got = kernels.run("matmul", [a, b], attrs)[0]
    want = _reference(a, b, attrs)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(REGISTRY["matmul"].forward(np, a, b, **attrs), want, rtol=tol, atol=tol)


def test_an_out_perm_that_moves_the_last_dim_is_refused(kernels):
    a = np.ones((3, 1, 7), np.float32)
    with pytest.raises(KernelError, match="UNSUPPORTED: .*out_perm"):
        kernels.run("matmul", [a, np.ones((3, 7, 2), np.float32)], {"out_perm": (2, 1, 0)})


def test_a_bad_permutation_is_refused(kernels):
    a = np.ones((2, 3), np.float32)
    with pytest.raises(KernelError, match="INVALID_MODEL: .*a_perm is not a permutation"):
        kernels.run("matmul", [a, a.T.copy()], {"a_perm": (0, 0)})
    with pytest.raises(KernelError, match="INVALID_MODEL: .*b_perm has 3 entries"):
        kernels.run("matmul", [a, a.T.copy()], {"b_perm": (0, 1, 2)})
