"""The C kernels against the eager ops they mirror.

Every row of the op test table (tests/ops/cases*.py) is run eagerly with a recorder pushed
on the dispatcher's tracer stack; each exportable op it applies is then re-run through its C
kernel (prepare + eval via ctypes, see kernel_lib.py) on the same inputs and attributes, in
float32 and in float64, and the outputs must agree. The C unit tests (hand-computed
references, every GEMM micro-kernel this CPU runs) are compiled and run too.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import eager
from eager.ops import REGISTRY
from eager.ops.dispatch import TRACERS, OpObserver

from ..ops.cases import CASES
from .kernel_lib import KERNEL_DIR, ROOT, KernelError, Kernels, build

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")


SANITIZE = ("-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined")


@pytest.fixture(scope="session")
def kernels(tmp_path_factory) -> Kernels:
    # ESM_KERNELS_SANITIZE=1: the library is built with ASan + UBSan (see the slow test below)
    flags = SANITIZE if os.environ.get("ESM_KERNELS_SANITIZE") == "1" else ()
    return Kernels(build(tmp_path_factory.mktemp("kernels"), flags))


class Recorder(OpObserver):
    """A tracer that keeps (op, input arrays, attrs, output arrays) of every applied op."""

    def __init__(self) -> None:
        self.calls = []

    def record(self, op, inputs, attrs, outputs) -> None:
        arrays = [None if t is None else np.array(t.data) for t in inputs]
        self.calls.append((op, arrays, dict(attrs), [np.array(o.data) for o in outputs]))

    def size(self, tensor, dim=None):
        return tensor.data.shape if dim is None else tensor.data.shape[dim]

    def escape(self, tensor, what) -> None:
        """Values leaving the graph need no recording here."""

    def alias(self, tensor, other) -> None:
        """In-place aliasing needs no recording here."""


def _data_dependent(op, arrays) -> bool:
    """index with a boolean mask: its output shape depends on the mask's values, which the C
    runtime's shape planning cannot know, so the kernel takes integer index tensors only."""
    return op.name == "index" and any(a is not None and a.dtype == np.bool_ for a in arrays[1:])


def _eager_inputs(case, float_dtype):
    arrays = case.inputs(np.random.default_rng(0))
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype == np.float64:
            a = a.astype(float_dtype)
        out.append(eager.tensor(a, dtype=eager.dtypes.from_numpy(a.dtype)))
    return out


def _recorded_calls(case, float_dtype):
    recorder = Recorder()
    TRACERS.append(recorder)
    try:
        case.fn(eager, *_eager_inputs(case, float_dtype))
    finally:
        TRACERS.remove(recorder)
    return [c for c in recorder.calls if c[0].exportable and not _data_dependent(c[0], c[1])]


IDS = [f"{c.op}-{c.id}" if c.id else c.op for c in CASES]


@pytest.mark.parametrize("float_dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kernel_matches_eager(kernels, case, float_dtype):
    calls = _recorded_calls(case, float_dtype)
    if not calls:
        pytest.skip("the case applies no exportable op")
    for op, arrays, attrs, want in calls:
        try:
            got = kernels.run(op.name, arrays, attrs, op.num_outputs)
        except KernelError as exc:
            pytest.fail(f"{op.name} {[None if a is None else (a.dtype.name, a.shape) for a in arrays]} "
                        f"{attrs}: {exc}")
        for g, w in zip(got, want):
            assert g.dtype == w.dtype, f"{op.name}: dtype {g.dtype} != eager {w.dtype}"
            assert g.shape == w.shape, f"{op.name}: shape {g.shape} != eager {w.shape}"
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, err_msg=f"{op.name} {attrs}")


def test_every_exportable_op_has_a_kernel(kernels):
    missing = sorted(name for name, op in REGISTRY.items() if op.exportable and name not in kernels.names())
    assert not missing, f"exportable ops without a C kernel: {missing}"


def test_kernel_errors_name_the_node_and_shapes(kernels):
    with pytest.raises(KernelError, match=r"SHAPE: node 0 \(add\): shapes \(2, 3\) and \(4,\)"):
        kernels.run("add", [np.zeros((2, 3), np.float32), np.zeros(4, np.float32)], {})


def _run_c_unit_tests(tmp_path, flags):
    cc = shutil.which("cc") or shutil.which("gcc")
    exe = tmp_path / "test_kernels"
    sources = sorted(str(p) for p in KERNEL_DIR.glob("*.c"))
    subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", *flags, f"-I{ROOT / 'include'}", *sources,
                    str(ROOT / "tests" / "test_kernels.c"), "-lm", "-o", str(exe)], check=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_c_unit_tests_pass(tmp_path):
    _run_c_unit_tests(tmp_path, ["-O1"])


@pytest.mark.slow
def test_c_unit_tests_pass_under_sanitizers(tmp_path):
    _run_c_unit_tests(tmp_path, ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"])


@pytest.mark.slow
def test_kernels_match_eager_under_sanitizers():
    """Every kernel-vs-eager case again, with the kernels built with ASan + UBSan (preloaded
    into a child Python, since the interpreter itself is not instrumented)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    runtime = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(runtime):
        pytest.skip("the compiler has no AddressSanitizer runtime")
    env = dict(os.environ, ESM_KERNELS_SANITIZE="1", LD_PRELOAD=runtime, ASAN_OPTIONS="detect_leaks=0")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"{__file__}::test_kernel_matches_eager"], env=env, capture_output=True, text=True,
                            cwd=ROOT.parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
