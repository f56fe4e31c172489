"""The C runtime (libesm through export.native) against the IR interpreter.

Every graph is exported with the real writer, loaded by the C runtime and run at two batch
sizes on fresh random inputs (and on inputs that take each branch of `if`); outputs must match
the interpreter within 1e-4 relative / 1e-5 absolute. Errors surface as
`export.native.RuntimeError` with the C status and message.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import export
import jitscript
from eager.ops import REGISTRY
from export import native
from tests.export import graphs

from .make_c_test_data import interpreter_outputs

pytestmark = pytest.mark.skipif(shutil.which("cmake") is None, reason="building libesm needs cmake")

GOLDEN = Path(__file__).resolve().parents[1] / "export" / "golden"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("esm")
    paths = {}
    for name, make in graphs.MODELS.items():
        paths[name] = out / f"{name}.esm"
        export.save(make(), paths[name])
    return paths


def assert_close(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("name", sorted(graphs.MODELS))
def test_c_runtime_matches_the_interpreter(name, batch, exported):
    model = native.load(exported[name])
    args = graphs.example_inputs(name, batch)
    assert_close(model.run(*args), interpreter_outputs(graphs.MODELS[name](), args))


@pytest.mark.parametrize("flag", [True, False])
def test_if_takes_each_branch_and_loop_runs_n_times(flag, exported):
    model = native.load(exported["control_flow"])
    x, _, _ = graphs.example_inputs("control_flow", 4)
    for n in (0, 1, 3):
        assert_close(model.run(x, flag, n), interpreter_outputs(graphs.control_flow(), (x, flag, n)))


def test_inputs_by_name_and_shapes_change_between_runs(exported):
    model = native.load(exported["mlp"])
    assert model.inputs == [{"name": "x", "dtype": "float32", "shape": ["N", 4]}]
    for batch in (2, 7, 2):
        x = np.random.default_rng(batch).standard_normal((batch, 4)).astype(np.float32)
        assert_close(model.run(x=x), interpreter_outputs(graphs.mlp(), (x,)))


def test_golden_v1_file_runs_in_c():
    model = native.load(GOLDEN / "mlp_v1.esm")
    io = np.load(GOLDEN / "mlp_v1.io.npz")
    inputs = [io[f"in{i}"] for i in range(len(model.inputs))]
    assert_close(model.run(*inputs), [io[f"out{j}"] for j in range(len(model.outputs))])


def test_wrong_shape_raises_runtime_error_with_status_and_message(exported):
    model = native.load(exported["mlp"])
    with pytest.raises(native.RuntimeError) as info:
        model.run(np.zeros((2, 5), np.float32))
    assert info.value.status_name == "ESM_ERR_SHAPE"
    assert "input x" in info.value.message and "dim 1" in info.value.message


def test_truncated_file_raises_invalid_model(exported, tmp_path):
    data = exported["mlp"].read_bytes()
    broken = tmp_path / "broken.esm"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(native.RuntimeError) as info:
        native.load(broken)
    assert info.value.status_name == "ESM_ERR_INVALID_MODEL" and "broken.esm" in str(info.value)


def test_every_exportable_op_has_a_c_implementation():
    exportable = {name for name, op in REGISTRY.items() if op.exportable}
    missing = sorted(exportable - set(native.supported_ops()))
    assert not missing, f"ops the exporter can emit but libesm cannot run: {missing}"


def test_every_structural_prim_op_is_supported():
    from jitscript.prims import PRIMS

    missing = sorted(set(PRIMS) - set(native.supported_ops()))
    assert not missing, f"prim:: ops libesm cannot run: {missing}"


CALL = """\
graph(%x : Tensor(float32, [N, 4])):
  %y : Tensor(float32, [N, 4]) = prim::call[name="f"](%x)
    block0(%a : Tensor(float32, [N, 4])):
      %b : Tensor(float32, [N, 4]) = tanh(%a)
      %c : Tensor(float32, [N, 4]) = mul(%b, %a)
      -> (%c)
  %z : Tensor(float32, [N, 4]) = add(%y, %x)
  return (%z)
"""


def test_a_call_not_inlined_runs_its_body(tmp_path):
    module = jitscript.ScriptModule(jitscript.parse(CALL, {}))
    export.save(module, tmp_path / "call.esm")
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    assert_close(native.load(tmp_path / "call.esm").run(x), interpreter_outputs(module, (x,)))


SWAP_LOOP = """\
graph(%x : Tensor(float32, [N, 4]), %y : Tensor(float32, [N, 4]), %n : int):
  %true : bool = prim::constant[value=True]()
  %a : Tensor(float32, [N, 4]), %b : Tensor(float32, [N, 4]) = prim::loop(%n, %true, %x, %y)
    block0(%i : int, %p : Tensor(float32, [N, 4]), %q : Tensor(float32, [N, 4])):
      %r : Tensor(float32, [N, 4]) = add(%p, %q)
      -> (%true, %r, %p)
  return (%a, %b)
"""


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_loop_carried_values_are_assigned_in_parallel(n, tmp_path):
    """(p, q) -> (p + q, p): copying p first and then reading it for q would be wrong."""
    module = jitscript.ScriptModule(jitscript.parse(SWAP_LOOP, {}))
    export.save(module, tmp_path / "swap.esm")
    rng = np.random.default_rng(n)
    x, y = (rng.standard_normal((2, 4)).astype(np.float32) for _ in range(2))
    assert_close(native.load(tmp_path / "swap.esm").run(x, y, n), interpreter_outputs(module, (x, y, n)))


FUSED_TILES = """\
graph(%x : Tensor(float32, [N, 300])):
  %b : Tensor(float32, [300]) = prim::param[name="b"]()
  %s : Tensor(float32, []) = prim::param[name="s"]()
  %y : Tensor(float32, [N, 300]), %z : Tensor(bool, [N, 300]) = prim::fused(%x, %b, %s)
    block0(%u : Tensor(float32, [N, 300]), %v : Tensor(float32, [300]), %w : Tensor(float32, [])):
      %p : Tensor(float32, [N, 300]) = mul(%u, %v)
      %q : Tensor(float32, [N, 300]) = add(%p, %w)
      %r : Tensor(bool, [N, 300]) = gt(%q, %w)
      -> (%q, %r)
  return (%y, %z)
"""


@pytest.mark.parametrize("batch", [1, 3])
def test_fused_group_over_several_tiles_with_broadcast_and_scalar(batch, tmp_path):
    rng = np.random.default_rng(batch)
    params = {"b": rng.standard_normal(300).astype(np.float32), "s": np.float32(0.25) * np.ones((), np.float32)}
    module = jitscript.ScriptModule(jitscript.parse(FUSED_TILES, params))
    export.save(module, tmp_path / "fused.esm")
    x = rng.standard_normal((batch, 300)).astype(np.float32)
    assert_close(native.load(tmp_path / "fused.esm").run(x), interpreter_outputs(module, (x,)))


def test_a_newer_major_format_version_is_refused_with_both_versions(tmp_path, monkeypatch):
    import export.writer

    monkeypatch.setattr(export.writer, "FORMAT_VERSION", (2, 0))
    export.save(graphs.mlp(), tmp_path / "future.esm")
    with pytest.raises(native.RuntimeError) as info:
        native.load(tmp_path / "future.esm")
    assert info.value.status_name == "ESM_ERR_UNSUPPORTED"
    assert "2.0" in info.value.message and "major version 1" in info.value.message


TWO_INPUTS = """\
graph(%x : Tensor(float32, [N, 4]), %y : Tensor(float32, [N, 4])):
  %z : Tensor(float32, [N, 4]) = add(%x, %y)
  return (%z)
"""


def test_inputs_sharing_a_symbolic_dim_must_agree(tmp_path):
    export.save(jitscript.ScriptModule(jitscript.parse(TWO_INPUTS, {})), tmp_path / "two.esm")
    model = native.load(tmp_path / "two.esm")
    with pytest.raises(native.RuntimeError) as info:
        model.run(np.zeros((2, 4), np.float32), np.zeros((3, 4), np.float32))
    assert info.value.status_name == "ESM_ERR_SHAPE" and "(N)" in info.value.message
    np.testing.assert_array_equal(model.run(np.ones((3, 4), np.float32), np.ones((3, 4), np.float32))[0], 2)
