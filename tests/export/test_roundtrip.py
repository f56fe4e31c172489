"""save -> load gives the same graph text, the same outputs, and weights used in place."""
from __future__ import annotations

import mmap

import flatbuffers
import numpy as np
import pytest

import eager
import export
import jitscript
from export.codec import UnsupportedValueError, encode_attr
from export.format import ALIGNMENT
from export.reader import open_esm
from jitscript import ScriptModule
from jitscript.prims import constant_type
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


def test_only_parameters_the_graph_reads_are_stored(tmp_path):
    module = graphs.mlp()
    module.graph.params["bn.running_var"] = np.ones(1000, np.float32)  # folded away, say
    export.save(module, tmp_path / "mlp.esm")
    assert sorted(export.load(tmp_path / "mlp.esm").graph.params) == ["fc1.bias", "fc1.weight", "fc2.weight"]
    assert export.inspect(tmp_path / "mlp.esm")["num_parameters"] == 8 * 4 + 8 + 3 * 8


def test_a_parameter_missing_from_graph_params_is_named(tmp_path):
    module = graphs.mlp()
    del module.graph.params["fc2.weight"]
    with pytest.raises(jitscript.IRError, match="parameter 'fc2.weight' is not in graph.params"):
        export.save(module, tmp_path / "mlp.esm")
    assert not list(tmp_path.iterdir())


def test_an_attribute_value_the_format_cannot_store_is_named():
    with pytest.raises(UnsupportedValueError, match="attribute value 1j .complex. has no .esm encoding"):
        encode_attr(flatbuffers.Builder(64), "value", 1j)


@pytest.mark.parametrize("value", ["(1, 2)", "[1, 2]", "(True, False)", "[0.5, -1.0]", "(1.5,)", "[]", "None",
                                   '"mean"', "-7", "2.5", "True", "inf", '["a", "b"]', "(1, 2.5)",
                                   '(("slice", 0, 16, None), ("select", -1))', "[(1, 2), (3, 4)]"])
def test_every_constant_attribute_round_trips_exactly(tmp_path, value):
    graph = jitscript.ir.parse(f"graph():\n  %c : int = prim::constant[value={value}]()\n  return (%c)\n")
    (node,) = graph.block.nodes
    node.outputs[0].type = constant_type(node.attrs["value"])  # the constant's own type
    export.save(ScriptModule(graph), tmp_path / "c.esm")
    assert str(export.load(tmp_path / "c.esm").graph) == str(graph)


OP_ATTRIBUTES = """\
graph(%x : Tensor(float32, [4, 20])):
  %a : Tensor(float32, [4, 16]) = getitem[items=(("slice", None, None, None), ("slice", 0, 16, None))](%x)
  %b : Tensor(float64, [4, 16]) = cast[dtype=float64](%a)
  return (%b)
"""


def test_nested_items_and_dtype_attributes_of_ops_round_trip(tmp_path):
    module = ScriptModule(jitscript.parse(OP_ATTRIBUTES))
    export.save(module, tmp_path / "ops.esm")
    loaded = export.load(tmp_path / "ops.esm")
    assert str(loaded.graph) == str(module.graph)
    x = np.arange(80, dtype=np.float32).reshape(4, 20)
    np.testing.assert_array_equal(_run(loaded, (x,))[0], x[:, :16].astype(np.float64))


def test_the_memory_plan_is_stored_for_the_reference_shapes(tmp_path):
    module = graphs.mlp()
    export.save(module, tmp_path / "mlp.esm", dims={"N": 8})
    plan = open_esm(tmp_path / "mlp.esm").model.MemoryPlan()
    # h and a ([8, 8] float32, 256 bytes each) overlap; y ([8, 3], padded to 128) reuses h's bytes.
    assert plan.ArenaBytes() == 512 and plan.Alignment() == ALIGNMENT
    assert [list(plan.ReferenceShapes(i).DimsAsNumpy()) for i in range(plan.ReferenceShapesLength())] == [[8, 4]]
    offsets = dict(zip(_value_names(tmp_path / "mlp.esm"), plan.OffsetsAsNumpy().tolist()))
    assert offsets["x"] == -1 and offsets["w1"] == -1  # the caller's input and a constant
    assert export.inspect(tmp_path / "mlp.esm")["arena_shapes"] == {"x": [8, 4]}
    assert {offsets["h"], offsets["a"]} == {0, 256} and offsets["y"] in (0, 256) and offsets["y"] != offsets["a"]


def _value_names(path) -> list[str]:
    graph = open_esm(path).model.Graph()
    return [graph.Values(i).Name().decode() for i in range(graph.ValuesLength())]


def test_no_plan_is_stored_when_shapes_are_unknown(tmp_path):
    text = "graph(%x : Tensor(float32)):\n  %y : Tensor(float32) = relu(%x)\n  return (%y)\n"
    export.save(ScriptModule(jitscript.parse(text)), tmp_path / "m.esm")
    assert open_esm(tmp_path / "m.esm").model.MemoryPlan() is None
    assert export.inspect(tmp_path / "m.esm")["arena_bytes"] == 0


def test_a_graph_that_does_not_verify_is_not_written(tmp_path):
    text = "graph(%x : Tensor(float32, [2])):\n  %y : Tensor(float32, [2]) = frobnicate(%x)  # m.py:3\n  return (%y)\n"
    with pytest.raises(jitscript.IRError, match="frobnicate at m.py:3: 'frobnicate' is neither a registry op"):
        export.save(ScriptModule(jitscript.parse(text)), tmp_path / "m.esm")
    assert not list(tmp_path.iterdir())


def test_weights_are_stored_little_endian_in_place(tmp_path):
    module = graphs.mlp()
    module.graph.params["fc1.bias"] = np.arange(8, dtype=">f4")  # big-endian in memory
    export.save(module, tmp_path / "mlp.esm")
    esm = open_esm(tmp_path / "mlp.esm")
    (bias,) = [esm.model.Constants(i) for i in range(esm.model.ConstantsLength())
               if esm.model.Constants(i).Name() == b"fc1.bias"]
    start = esm.weights_start + bias.Offset()
    assert bytes(esm.buffer[start:start + bias.Nbytes()]) == np.arange(8, dtype="<f4").tobytes()


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    export.save(graphs.mlp(), tmp_path / "m.esm")
    before = (tmp_path / "m.esm").read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        export.save(graphs.control_flow(), tmp_path / "m.esm")
    assert [p.name for p in tmp_path.iterdir()] == ["m.esm"]
    assert (tmp_path / "m.esm").read_bytes() == before
