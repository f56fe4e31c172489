"""Bad inputs to the public API, table-driven: each raises ONE clear error of a documented type
whose message names the problem (asserted), and no file on disk is changed or lost (every file
of the workspace is hashed before and after). Inputs that are unusual but valid (non-contiguous,
NaN/Inf, an empty batch) give the same results as their plain equivalents."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import eager
import export
import jitscript
from eager import nn
from eager.errors import OpError
from eager.serialization import CheckpointError
from export import native
from jitscript.lexer import TextError
from tests.export import graphs

needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")


def _outside_script(x):
    return (lambda y: y)(x)  # lambda is outside the script language


def _float_and(x):
    return x & x  # bitwise and of float tensors: PyTorch raises too


def _int_or(x, n: int):
    return x * (n | 1)  # bitwise or of ints: script compiles & and | on bools only


_HUGE_PLAN = """\
graph(%x : Tensor(float32, [2])):
  %y : Tensor(float32, [2147483648, 4294967296]) = repeat[repeats=(2147483648, 2147483648)](%x)
  return (%y)
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A model file, a checkpoint of a Linear(4, 3), and their broken copies."""
    ws = tmp_path_factory.mktemp("workspace")
    export.save(graphs.mlp(), ws / "mlp.esm")
    (ws / "truncated.esm").write_bytes((ws / "mlp.esm").read_bytes()[:500])
    (ws / "not_a_model.esm").write_bytes(b"ESM\0" + bytes(range(256)) * 4)
    eager.manual_seed(0)
    eager.save(nn.Linear(4, 3).state_dict(), ws / "linear.pt")
    eager.save(nn.Sequential(nn.Linear(5, 3)).state_dict(), ws / "other_model.pt")
    (ws / "truncated.pt").write_bytes((ws / "linear.pt").read_bytes()[:300])
    return ws


def _hashes(ws: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(ws.iterdir())}


def _native(ws: Path):
    return native.load(ws / "mlp.esm")


# (id, call(workspace), exception type, regex the message must match)
BAD_INPUTS = [
    ("op_wrong_shape", lambda ws: eager.matmul(eager.randn(2, 3), eager.randn(4, 5)),
     OpError, r"matmul: cannot multiply \(2, 3\) by \(4, 5\): inner dimensions 3 and 4 differ \(at .*test_bad_in"),
    ("op_wrong_dtype", lambda ws: nn.functional.embedding(eager.randn(3), eager.randn(4, 2)),
     OpError, r"embedding: indices must be an integer tensor, got float32"),
    ("script_module_wrong_shape", lambda ws: export.load(ws / "mlp.esm")(eager.zeros(3, 5)),
     OpError, r"linear: input of shape \(3, 5\) has 5 features but the weight \(8, 4\) expects 4"),
    ("script_module_missing_input", lambda ws: export.load(ws / "mlp.esm")(),
     TypeError, r"the graph takes 1 input\(s\) \(Tensor\(float32, \[N, 4\]\)\), got 0"),
    ("script_module_wrong_dtype", lambda ws: export.load(ws / "mlp.esm")(eager.ones(3, 4, dtype=eager.int64)),
     TypeError, r"input x takes float32, got int64 \(convert it: x.to\(eager.float32\)\)"),
    ("script_module_numpy_array", lambda ws: export.load(ws / "mlp.esm")(np.ones((3, 4), np.float32)),
     TypeError, r"input x takes Tensor\(float32, \[N, 4\]\), got ndarray \(wrap it: eager.tensor\(array\)\)"),
    ("leaky_relu_on_integers", lambda ws: nn.functional.leaky_relu(eager.tensor([-3, 5]), 1e30),
     OpError, r"leaky_relu needs a floating-point tensor, got int64"),
    ("leaky_relu_on_bools", lambda ws: nn.LeakyReLU()(eager.tensor([True])),
     OpError, r"leaky_relu needs a floating-point tensor, got bool"),
    ("bitwise_and_on_floats", lambda ws: eager.randn(3) & eager.randn(3),
     TypeError, r"& on float32 and float32: bitwise ops need integer or bool tensors"),
    ("bitwise_or_float_and_bool", lambda ws: eager.randn(3) | (eager.randn(3) > 0),
     TypeError, r"\| on float32: bitwise ops need integer or bool tensors"),
    ("bitwise_xor_on_integers", lambda ws: eager.tensor([6]) ^ eager.tensor([3]),
     TypeError, r"\^ on int64 and int64: bitwise ops on integer tensors are not implemented \(only bool\)"),
    ("bitwise_and_with_int_scalar", lambda ws: (eager.randn(3) > 0) & 1,
     TypeError, r"& on int64: bitwise ops on integer tensors are not implemented"),
    ("bitwise_not_on_floats", lambda ws: ~eager.randn(3),
     TypeError, r"~ on float32: bitwise ops need integer or bool tensors; for masks use logical_not"),
    ("script_bitwise_and_on_floats", lambda ws: jitscript.script(_float_and),
     jitscript.ScriptError, r"error: & on float32 and float32: bitwise ops need integer or bool tensors"),
    ("script_bitwise_or_on_ints", lambda ws: jitscript.script(_int_or),
     jitscript.ScriptError, r"error: \| on int and int: script supports \| on bools only"),
    ("export_save_plan_beyond_int64", lambda ws: export.save(jitscript.ScriptModule(jitscript.parse(_HUGE_PLAN, {})),
                                                             ws / "mlp.esm"),
     ValueError, r"export.save: the graph's tensors need a 36893488147419103232-byte arena, beyond the format's "
                 r"limit of 2\*\*63 - 1 bytes"),
    ("script_outside_the_language", lambda ws: jitscript.script(_outside_script),
     jitscript.ScriptError, r"test_bad_inputs.py:\d+:\d+: error: lambda is not supported in script"),
    ("ir_text_syntax_error", lambda ws: jitscript.parse("graph(%x : Tensor(float32, [N]):\n  return (%x\n", {}),
     TextError, r"line 1, column 32: expected ',', found ':'"),
    ("export_load_truncated", lambda ws: export.load(ws / "truncated.esm"),
     export.FormatError, r"truncated.esm: not a valid .esm model: .*truncated or corrupt file"),
    ("export_load_not_a_model", lambda ws: export.load(ws / "not_a_model.esm"),
     export.FormatError, r"not_a_model.esm: not a valid .esm model"),
    ("export_save_not_a_script_module", lambda ws: export.save(nn.Linear(2, 2), ws / "mlp.esm"),
     TypeError, r"export.save expects a ScriptModule .*got Linear"),
    ("checkpoint_of_another_shape", lambda ws: nn.Linear(4, 3).load_state_dict(eager.load(ws / "other_model.pt")),
     RuntimeError, r'Missing key\(s\) in state_dict: "weight", "bias".*Unexpected key\(s\) in state_dict: "0.weight"'),
    ("checkpoint_size_mismatch", lambda ws: nn.Linear(5, 3).load_state_dict(eager.load(ws / "linear.pt")),
     RuntimeError, r"size mismatch for weight: copying a param with shape \(3, 4\) from checkpoint, "
                   r"the shape in current model is \(3, 5\)"),
    ("checkpoint_truncated", lambda ws: eager.load(ws / "truncated.pt"),
     CheckpointError, r"truncated.pt: not an eagerscript checkpoint \(not a complete zip archive"),
    ("checkpoint_unsavable_over_existing", lambda ws: eager.save({"f": object()}, ws / "linear.pt"),
     TypeError, r"eager.save: cannot save obj\['f'\] of type object"),
    pytest.param("native_wrong_shape", lambda ws: _native(ws).run(np.zeros((3, 5), np.float32)),
                 native.RuntimeError, r"ESM_ERR_SHAPE: input x: dim 1 is 5, the model takes 4", marks=needs_cmake),
    pytest.param("native_wrong_rank", lambda ws: _native(ws).run(np.zeros(3, np.float32)),
                 native.RuntimeError, r"ESM_ERR_SHAPE: input x has 1 dims, the model takes 2", marks=needs_cmake),
    pytest.param("native_wrong_dtype", lambda ws: _native(ws).run(np.zeros((3, 4), np.complex64)),
                 TypeError, r"run\(\): input x takes float32, got complex64", marks=needs_cmake),
    pytest.param("native_strings", lambda ws: _native(ws).run(np.array([["a"] * 4])),
                 TypeError, r"run\(\): input x takes float32, got <U1", marks=needs_cmake),
    pytest.param("native_missing_input", lambda ws: _native(ws).run(),
                 TypeError, r"run\(\) takes 1 inputs \['x'\], got 0", marks=needs_cmake),
    pytest.param("native_unknown_input", lambda ws: _native(ws).run(y=np.zeros((1, 4), np.float32)),
                 TypeError, r"got unknown \['y'\]", marks=needs_cmake),
    pytest.param("native_truncated_file", lambda ws: native.load(ws / "truncated.esm"),
                 native.RuntimeError, r"ESM_ERR_INVALID_MODEL: .*truncated.esm: .*out of bounds", marks=needs_cmake),
    pytest.param("native_not_a_model", lambda ws: native.load(ws / "not_a_model.esm"),
                 native.RuntimeError, r"ESM_ERR_INVALID_MODEL: .*not_a_model.esm", marks=needs_cmake),
    pytest.param("native_missing_file", lambda ws: native.load(ws / "absent.esm"),
                 native.RuntimeError, r"ESM_ERR_IO: .*absent.esm", marks=needs_cmake),
]


def _case_id(value) -> str:
    return value if isinstance(value, str) and re.fullmatch(r"\w+", value) else ""


@pytest.mark.parametrize("name, call, error, message", BAD_INPUTS, ids=_case_id)
def test_bad_input_gives_one_clear_error_and_changes_no_file(workspace, name, call, error, message):
    before = _hashes(workspace)
    with pytest.raises(error) as info:
        call(workspace)
    assert re.search(message, str(info.value), flags=re.S), str(info.value)
    assert _hashes(workspace) == before


@needs_cmake
def test_non_contiguous_input_gives_the_contiguous_result(workspace):
    wide = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    strided = wide[:, ::2]
    assert not strided.flags.c_contiguous
    model = _native(workspace)
    np.testing.assert_array_equal(model.run(strided)[0], model.run(np.ascontiguousarray(strided))[0])


@needs_cmake
@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input_propagates_like_the_interpreter(workspace, value):
    x = np.zeros((2, 4), np.float32)
    x[0, 1] = value
    got = _native(workspace).run(x)[0]
    want = export.load(workspace / "mlp.esm")(eager.tensor(x)).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-5, atol=1e-6)


@needs_cmake
def test_empty_batch_gives_an_empty_result(workspace):
    x = np.zeros((0, 4), np.float32)
    assert _native(workspace).run(x)[0].shape == (0, 3)
    assert tuple(export.load(workspace / "mlp.esm")(eager.tensor(x)).shape) == (0, 3)


def test_bitwise_operators_on_bool_tensors_are_the_logical_ops():
    a, b = eager.tensor([True, True, False]), eager.tensor([True, False, False])
    assert (a & b).tolist() == [True, False, False] and (a | b).tolist() == [True, True, False]
    assert (a ^ b).tolist() == [False, True, False] and (~a).tolist() == [False, False, True]
    assert (a & True).tolist() == [True, True, False]
