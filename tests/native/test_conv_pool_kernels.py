"""conv2d and max_pool2d fast paths against PyTorch (the oracle), kernel by kernel and through the runtime.

conv2d (float32) is one GEMM per group over the whole batch with the im2col gathered into the
packed panels; these cases cover odd sizes (1, 3, 17: not multiples of any micro-kernel's tile),
every micro-kernel this CPU runs, a K deep enough to take several k slices, groups, strides,
dilation and asymmetric padding. max_pool2d skips its indices when the core marks them unused and
has a vectorized 2x2 / stride-2 path; NaN and signed zeros must behave as PyTorch's.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import eager
import export
import jitscript
from eager import nn
from export import native

from .kernel_lib import Kernels, build

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")

GEMM_KERNELS = ("avx512", "avx2", "neon", "c")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:
    return Kernels(build(tmp_path_factory.mktemp("conv_pool")))


@pytest.fixture(params=GEMM_KERNELS)
def gemm_kernel(request, kernels):
    """Each GEMM micro-kernel this CPU can run, selected for the test and reset after it."""
    if not kernels.lib.esm_sgemm_select(request.param.encode()):
        pytest.skip(f"this CPU cannot run the {request.param} micro-kernel")
    yield request.param
    kernels.lib.esm_sgemm_select(None)


def conv_reference(x, w, b, stride, padding, dilation, groups):
    """torch's conv2d with the attribute's (top, left, bottom, right) padding applied by F.pad."""
    top, left, bottom, right = padding
    xt = F.pad(torch.from_numpy(x).double(), (left, right, top, bottom))
    bt = None if b is None else torch.from_numpy(b).double()
    return F.conv2d(xt, torch.from_numpy(w).double(), bt, stride=stride, dilation=dilation, groups=groups).numpy()


CONV_CASES = [
    # (N, C, H, W), (O, kh, kw), stride, padding (t, l, b, r), dilation, groups, bias
    ((1, 1, 1, 1), (1, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, True),
    ((3, 3, 17, 17), (17, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
    ((17, 1, 8, 8), (16, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
    ((5, 16, 4, 4), (33, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, False),
    ((2, 48, 5, 6), (7, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),  # K = 432: several k slices
    ((3, 6, 9, 7), (10, 2, 4), (2, 1), (0, 2, 1, 1), (1, 2), 2, True),
    ((2, 4, 11, 13), (6, 3, 3), (2, 2), (1, 0, 2, 3), (2, 1), 1, True),
    ((4, 5, 3, 17), (3, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1, True),  # pointwise, no copy of the input
    ((1, 3, 17, 3), (5, 1, 3), (3, 2), (0, 1, 0, 1), (1, 1), 1, False),
    ((2, 2, 0, 3), (3, 1, 1), (1, 1), (1, 0, 1, 0), (1, 1), 1, True),  # no input rows: padding only
    # 16-row tiles whose 16-column panels are whole output rows (AVX-512: one permute per tap):
    # 2 rows of 8; rows 2 input rows apart; dilated taps; 4 rows of 4 without padding
    ((3, 4, 8, 8), (16, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
    ((2, 3, 9, 8), (32, 3, 3), (2, 1), (1, 1, 1, 1), (1, 1), 1, True),
    ((1, 2, 8, 8), (16, 3, 3), (1, 1), (2, 2, 2, 2), (2, 2), 1, False),
    ((4, 5, 6, 6), (30, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, True),
]


@pytest.mark.parametrize("case", CONV_CASES,
                         ids=[f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-g{c[5]}" for c in CONV_CASES])
def test_conv2d_float32_matches_torch(kernels, gemm_kernel, case):
    shape, (o, kh, kw), stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(sum(shape) + o)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((o, shape[1] // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    attrs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    (got,) = kernels.run("conv2d", [x, w] + ([b] if bias else []), attrs)
    want = conv_reference(x, w, b, stride, padding, dilation, groups)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
               "silu": F.silu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
ACT_CASES = [  # whole tiles, edge tiles, tiles across two images, several k slices, 16-wide rows, no bias
    ((3, 3, 16, 16), (8, 3, 3), (1, 1, 1, 1), True),
    ((5, 16, 4, 4), (33, 3, 3), (1, 1, 1, 1), False),
    ((2, 48, 5, 6), (7, 3, 3), (1, 1, 1, 1), True),
    ((3, 1, 3, 17), (1, 1, 3), (0, 1, 0, 1), True),
    ((2, 48, 4, 4), (30, 3, 3), (1, 1, 1, 1), True),  # 16-row tiles: the last cut at row 30, k sliced
]


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("case", ACT_CASES, ids=[f"x{c[0]}-w{c[1]}-b{int(c[3])}" for c in ACT_CASES])
def test_conv2d_fused_activation_matches_torch(kernels, gemm_kernel, case, act):
    """The activation is applied as each GEMM tile is stored (with the bias); relu keeps a NaN."""
    shape, (o, kh, kw), padding, bias = case
    rng = np.random.default_rng(sum(shape) + o)
    x = rng.standard_normal(shape).astype(np.float32)
    x.reshape(-1)[::37] = np.nan if act == "relu" else 0.0
    w = rng.standard_normal((o, shape[1], kh, kw)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    attrs = {"stride": (1, 1), "padding": padding, "dilation": (1, 1), "groups": 1, "activation": act}
    (got,) = kernels.run("conv2d", [x, w] + ([b] if bias else []), attrs)
    want = ACTIVATIONS[act](torch.from_numpy(conv_reference(x, w, b, (1, 1), padding, (1, 1), 1))).numpy()
    assert np.isnan(want).any() == (act == "relu")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_conv2d_without_input_channels_gives_the_bias(kernels):
    x = np.zeros((2, 0, 4, 4), np.float32)
    w = np.zeros((3, 0, 3, 3), np.float32)
    b = np.array([1.5, -2.0, 0.25], np.float32)
    attrs = {"stride": (1, 1), "padding": (1, 1, 1, 1), "dilation": (1, 1), "groups": 1}
    (got,) = kernels.run("conv2d", [x, w, b], attrs)
    np.testing.assert_array_equal(got, np.broadcast_to(b[None, :, None, None], (2, 3, 4, 4)))


POOL_CASES = [
    # (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
    ((1, 1, 2, 2), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 17, 17, 17), (2, 2), (2, 2), (0, 0), (1, 1), False),  # odd size: the last row/column is dropped
    ((2, 3, 8, 34), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 9, 9), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((1, 2, 7, 7), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ((1, 2, 9, 10), (2, 3), (1, 2), (1, 1), (2, 1), False),
    ((3, 17, 16, 16), (2, 2), (2, 2), (0, 0), (1, 1), False),  # 2x2 over many planes: several flat chunks
    ((1, 1, 4, 1030), (2, 2), (2, 2), (0, 0), (1, 1), False),  # rows too long for a flat chunk
    # the flat path's row pairs: fixed-width output rows of 2 and 4 (the digits CNN), and 3 and 5
    ((32, 32, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((33, 16, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 5, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 6, 10), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ((2, 3, 32, 32), (2, 2), (2, 2), (0, 0), (1, 1), False),  # output rows of 16: one AVX-512 block each
]


def pool_input(shape, seed, nans):
    """Normal values with ties of signed zeros (and NaNs) sprinkled in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    picks = rng.choice(flat.size, size=(3, max(flat.size // 7, 1)))
    flat[picks[0]] = np.nan if nans else 0.0
    flat[picks[1]] = 0.0
    flat[picks[2]] = -0.0
    return x


@pytest.mark.parametrize("indices_used", [True, False])
@pytest.mark.parametrize("case", POOL_CASES,
                         ids=[f"x{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-c{c[5]}" for c in POOL_CASES])
def test_max_pool2d_matches_torch(kernels, case, indices_used):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    # the index of a NaN differs between PyTorch (the last NaN), the C kernel (the first) and
    # eager (the maximum before it): indices are compared without NaNs
    x = pool_input(shape, sum(shape), nans=not indices_used)
    attrs = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    values, indices = kernels.run("max_pool2d", [x], attrs, num_outputs=2, unused_outputs=0 if indices_used else 2)
    want = F.max_pool2d(torch.from_numpy(x), kernel, stride, padding, dilation, ceil_mode=ceil_mode).numpy()
    np.testing.assert_array_equal(values, want)  # NaNs in the same places, exact values
    np.testing.assert_array_equal(np.signbit(values), np.signbit(want))  # ties of 0.0 and -0.0: the first wins
    if indices_used:
        _, want_idx = F.max_pool2d(torch.from_numpy(x), kernel, stride, padding, dilation, ceil_mode=ceil_mode,
                                   return_indices=True)
        np.testing.assert_array_equal(indices, want_idx.numpy())
    else:
        assert not indices.any(), "the indices nothing reads are left unwritten"


class PoolBoth(nn.Module):
    """max_pool2d whose indices are a model output: the core must not mark them unused."""

    def forward(self, x):
        values, indices = nn.functional.max_pool2d(x, 2, return_indices=True)
        return values, indices


class SmallCNN(nn.Module):
    """conv (padded) -> relu -> pool -> conv (strided) -> conv (pointwise, grouped)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 17, 3, padding=1)
        self.b = nn.Conv2d(17, 6, 3, stride=2)
        self.c = nn.Conv2d(6, 6, 1, groups=2)

    def forward(self, x):
        return self.c(self.b(nn.functional.max_pool2d(eager.relu(self.a(x)), 2)))


@pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")
@pytest.mark.parametrize("threads", [1, 2])
def test_runtime_conv_and_pool_match_eager(tmp_path, threads):
    eager.manual_seed(3)
    x = eager.randn(33, 3, 17, 17)  # batch 33: the columns split unevenly over the threads
    cases = {"pool_both": PoolBoth().eval(), "cnn": SmallCNN().eval()}
    for name, model in cases.items():
        path = tmp_path / f"{name}.esm"
        export.save(jitscript.optimize(jitscript.trace(model, (x,), dynamic_batch=True)), path)
        want = model(x)
        want = want if isinstance(want, tuple) else (want,)
        got = native.load(path, threads=threads).run(x.numpy())
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


AVG_CASES = [
    # (N, C, H, W), ceil_mode, divisor_override
    ((1, 1, 2, 2), False, None),
    ((3, 5, 17, 17), False, None),  # odd size: the 2x2 path, the last row/column dropped
    ((2, 3, 8, 34), False, 3),
    ((1, 2, 7, 7), True, None),  # a cut window at the edge: the general loop
]


@pytest.mark.parametrize("case", AVG_CASES, ids=[f"x{c[0]}-c{c[1]}-d{c[2]}" for c in AVG_CASES])
def test_avg_pool2d_2x2_matches_torch(kernels, case):
    shape, ceil_mode, divisor = case
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    attrs = {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0), "ceil_mode": ceil_mode,
             "count_include_pad": True, "divisor_override": divisor or 0}
    (got,) = kernels.run("avg_pool2d", [x], attrs)
    want = F.avg_pool2d(torch.from_numpy(x).double(), 2, 2, ceil_mode=ceil_mode, divisor_override=divisor).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
