"""save -> load gives the same graph text, the same outputs, and weights used in place."""
from __future__ import annotations

import mmap

import numpy as np
import pytest

import eager
import export
import jitscript
from export.format import ALIGNMENT
from export.reader import open_esm
from jitscript import ScriptModule
from tests.export import graphs


def _run(module, args) -> list[np.ndarray]:
    args = [eager.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    out = module(*args)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("name", sorted(graphs.MODELS))
def test_round_trip_keeps_graph_text_and_outputs(name, tmp_path):
    module = graphs.MODELS[name]()
    path = tmp_path / f"{name}.esm"
    export.save(module, path)
    loaded = export.load(path)
    assert str(loaded.graph) == str(module.graph)
    for batch in (1, 3):
        args = graphs.example_inputs(name, batch)
        for want, got in zip(_run(module, args), _run(loaded, args)):
            np.testing.assert_array_equal(got, want)


def test_control_flow_takes_both_branches_after_round_trip(tmp_path):
    module = graphs.control_flow()
    export.save(module, tmp_path / "cf.esm")
    loaded = export.load(tmp_path / "cf.esm")
    x = graphs.example_inputs("control_flow")[0]
    for flag in (True, False):
        np.testing.assert_array_equal(_run(loaded, (x, flag, 3))[0], _run(module, (x, flag, 3))[0])


def test_loaded_weights_are_read_only_views_of_the_file_mapping(tmp_path):
    export.save(graphs.mlp(), tmp_path / "mlp.esm")
    weight = export.load(tmp_path / "mlp.esm").graph.params["fc1.weight"]
    base = weight
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)
    assert not weight.flags.writeable


def test_every_constant_is_64_byte_aligned_in_the_file(tmp_path):
    export.save(graphs.mlp(), tmp_path / "mlp.esm")
    esm = open_esm(tmp_path / "mlp.esm")
    assert esm.weights_start % ALIGNMENT == 0
    offsets = [esm.model.Constants(i).Offset() for i in range(esm.model.ConstantsLength())]
    assert offsets and all(o % ALIGNMENT == 0 for o in offsets)


TIED = """\
graph(%x : Tensor(float32, [2, 3])):
  %a : Tensor(float32, [2, 3]) = prim::param[name="encoder.weight"]()
  %b : Tensor(float32, [2, 3]) = prim::param[name="decoder.weight"]()
  %c : Tensor(float32, [3]) = prim::param[name="bias"]()
  %y : Tensor(float32, [2, 3]) = add(%x, %a)
  %z : Tensor(float32, [2, 3]) = mul(%y, %b)
  %r : Tensor(float32, [2, 3]) = add(%z, %c)
  return (%r)
"""


def test_identical_weights_are_stored_once(tmp_path):
    tied = np.arange(6, dtype=np.float32).reshape(2, 3)
    params = {"encoder.weight": tied, "decoder.weight": tied.copy(), "bias": np.ones(3, np.float32)}
    export.save(ScriptModule(jitscript.parse(TIED, params)), tmp_path / "tied.esm")
    esm = open_esm(tmp_path / "tied.esm")
    offsets = {esm.model.Constants(i).Name().decode(): esm.model.Constants(i).Offset()
               for i in range(esm.model.ConstantsLength())}
    assert offsets["encoder.weight"] == offsets["decoder.weight"] != offsets["bias"]
    assert esm.weights_length == 2 * ALIGNMENT  # two small blobs, each padded to 64 bytes
    loaded = export.load(tmp_path / "tied.esm").graph.params
    np.testing.assert_array_equal(loaded["decoder.weight"], tied)


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path):
    export.save(graphs.mlp(), tmp_path / "m.esm")
    export.save(graphs.control_flow(), tmp_path / "m.esm")
    assert [p.name for p in tmp_path.iterdir()] == ["m.esm"]
    assert "prim::if" in export.inspect(tmp_path / "m.esm")["ops"]


def test_inspect_summarizes_interface_ops_and_parameters(tmp_path):
    export.save(graphs.mlp(), tmp_path / "mlp.esm", metadata={"task": "digits"})
    info = export.inspect(tmp_path / "mlp.esm")
    assert info["inputs"] == [{"name": "x", "type": "Tensor(float32, [N, 4])", "dtype": "float32",
                               "shape": ["N", 4]}]
    assert info["outputs"][0]["shape"] == ["N", 3]
    assert info["ops"] == {"prim::param": 3, "linear": 2, "relu": 1}
    assert info["num_parameters"] == 8 * 4 + 8 + 3 * 8
    assert info["parameter_bytes"] == 4 * info["num_parameters"]
    assert info["metadata"] == {"task": "digits"}
    assert info["export_mode"] == "trace" and info["format_version"] == "1.0"
