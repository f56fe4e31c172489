"""trace(): ops become nodes, sizes become prim::size, escapes warn at the user's line."""
import warnings

import numpy as np
import pytest

import eager
import jitscript
from jitscript import TensorType, TracerWarning, TracingError, parse, trace, verify

W = eager.randn(5, 12)
B = eager.randn(5)


def flatten_linear(x):
    return eager.relu(eager.linear(x.reshape(x.shape[0], -1), W, B)) * 2


def test_trace_records_ops_and_runs_like_eager():
    x = eager.randn(4, 3, 4)
    sm = trace(flatten_linear, x)
    verify(sm.graph)
    ops = [n.op for n in sm.graph.nodes()]
    assert {"reshape", "linear", "relu", "mul", "prim::size"} <= set(ops)
    np.testing.assert_allclose(sm(x).numpy(), flatten_linear(x).numpy(), rtol=1e-6)


def test_captured_tensors_are_params_not_inlined():
    sm = trace(flatten_linear, eager.randn(2, 3, 4))
    params = [n for n in sm.graph.nodes() if n.op == "prim::param"]
    assert len(params) == 2
    assert any(v is W for v in sm.graph.params.values())
    assert "value=" not in str(sm.graph).split("linear")[0].split("prim::param")[1]


def test_python_scalar_becomes_constant_scalar_tensor():
    sm = trace(lambda x: x * 2.5, eager.ones(3))
    text = str(sm.graph)
    assert "prim::constant[value=2.5]()" in text
    assert "prim::scalar_tensor[dtype=float32]" in text
    assert sm.graph.params == {}


def test_traced_graph_text_round_trips():
    sm = trace(flatten_linear, eager.randn(2, 3, 4))
    text = str(sm.graph)
    assert str(parse(text)) == text
    verify(parse(text, sm.graph.params))


def test_dynamic_batch_keeps_reshape_symbolic():
    sm = trace(flatten_linear, eager.randn(4, 3, 4), dynamic_batch=True)
    assert sm.graph.inputs[0].type == TensorType(eager.float32, ("N", 3, 4))
    assert sm.graph.outputs[0].type == TensorType(eager.float32, ("N", 5))
    x = eager.randn(9, 3, 4)
    np.testing.assert_allclose(sm(x).numpy(), flatten_linear(x).numpy(), rtol=1e-6)


def test_without_dynamic_batch_shapes_are_concrete():
    sm = trace(flatten_linear, eager.randn(4, 3, 4))
    assert sm.graph.outputs[0].type == TensorType(eager.float32, (4, 5))


def frozen_batch(x):
    return x.reshape(len(x), -1)  # len() gives a plain int: the trace freezes the batch size


def test_dynamic_batch_detects_a_frozen_batch_size():
    with pytest.raises(TracingError, match="at batch size 5"):
        trace(frozen_batch, eager.randn(4, 3), dynamic_batch=True)


def data_dependent(x):
    if x.sum() > 0:  # the line the warning must name
        return x * 2
    return -x


def test_escape_warns_with_user_file_and_line():
    with pytest.warns(TracerWarning, match=r"bool\(tensor\) at .*test_tracer.py:\d+") as record:
        trace(data_dependent, eager.ones(3))
    warning = record[0]
    assert warning.filename == __file__
    assert warning.lineno == data_dependent.__code__.co_firstlineno + 1


@pytest.mark.parametrize("escape", [lambda t: t.item(), lambda t: t.tolist(), lambda t: int(t),
                                    lambda t: float(t), lambda t: t.numpy(), lambda t: iter(t)])
def test_every_escape_warns(escape):
    def fn(x):
        escape(x.sum(0, keepdim=True))
        return x

    with pytest.warns(TracerWarning, match="turns a traced tensor into a Python value"):
        trace(fn, eager.ones(1))


def test_no_warning_without_escape():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)
        trace(flatten_linear, eager.randn(2, 3, 4))


def test_size_is_recorded_not_constant():
    sm = trace(lambda x: x.size(1) * x, eager.ones(2, 3))
    sizes = [n for n in sm.graph.nodes() if n.op == "prim::size"]
    assert sizes and sm(eager.ones(2, 3)).tolist() == [[3.0] * 3] * 2


def test_detach_keeps_the_traced_value():
    sm = trace(lambda x: (x + 1).detach() * x, eager.ones(2))
    assert sm(eager.full((2,), 3.0)).tolist() == [12.0, 12.0]


def test_tuple_outputs_and_nested_tuples():
    sm = trace(lambda x: (x + 1, (x * 2, x - 1)), eager.ones(2))
    a, (b, c) = sm(eager.ones(2))
    assert a.tolist() == [2.0, 2.0] and b.tolist() == [2.0, 2.0] and c.tolist() == [0.0, 0.0]


def test_script_module_called_while_tracing_is_embedded_with_control_flow():
    inner = jitscript.ScriptModule(parse('''graph(%x : Tensor(float32, [2])):
  %zero : int = prim::constant[value=0]()
  %n : int = prim::size(%x, %zero)
  %two : int = prim::constant[value=2]()
  %big : bool = prim::gt(%n, %two)
  %r : Tensor(float32, [2]) = prim::if(%big)
    block0():
      %a : Tensor(float32, [2]) = neg(%x)
      -> (%a)
    block1():
      -> (%x)
  return (%r)
'''))
    sm = trace(lambda x: inner(x + 1) * 3, eager.ones(2))
    assert [n.op for n in sm.graph.block.nodes].count("prim::call") == 1
    assert any(n.op == "prim::if" for n in sm.graph.nodes())
    verify(sm.graph)
    assert sm(eager.ones(2)).tolist() == [6.0, 6.0]
    assert sm(eager.ones(3)).tolist() == [-6.0, -6.0, -6.0]


def test_trace_rejects_non_tensor_inputs():
    with pytest.raises(TypeError, match="example input 0 is a int"):
        trace(lambda x: x, 3)


def test_size_used_as_a_tensor_operand_stays_dynamic():
    sm = trace(lambda x: x / x.shape[0] - x.size(0), eager.ones(2, 3), dynamic_batch=True)
    assert sm(eager.ones(4, 3)).tolist() == [[0.25 - 4] * 3] * 4


def test_tensor_created_with_a_traced_size_follows_the_batch():
    sm = trace(lambda x: eager.zeros(x.shape[0], 2) + x.sum(1, keepdim=True), eager.ones(3, 4), dynamic_batch=True)
    assert sm(eager.ones(5, 4)).tolist() == [[4.0, 4.0]] * 5


def test_tracing_a_module_in_training_mode_warns():
    from eager import nn

    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    with pytest.warns(TracerWarning, match="Sequential is in training mode"):
        trace(model, eager.ones(1, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)
        trace(model.eval(), eager.ones(1, 3))


def test_module_parameters_keep_their_names_and_are_shared():
    from eager import nn

    model = nn.Sequential(nn.Linear(3, 2)).eval()
    sm = trace(model, eager.ones(1, 3))
    assert sm.graph.params["0.weight"] is model[0].weight
    assert 'prim::param[name="0.bias"]' in sm.code
    with eager.no_grad():
        model[0].bias.data[...] = 5.0
    np.testing.assert_allclose(sm(eager.zeros(1, 3)).detach().numpy(), [[5.0, 5.0]])


def test_interpreted_graph_is_differentiable_like_eager():
    from eager import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).eval()
    x = eager.randn(5, 3)
    sm = trace(model, x)
    model(x).sum().backward()
    want = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    sm(x).sum().backward()
    for p, w in zip(model.parameters(), want):
        np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-6)


def test_submodule_outputs_are_named_after_the_submodules():
    from eager import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 1)).eval()
    code = trace(model, eager.randn(2, 3)).code
    assert "%0 : Tensor(float32, [2, 4]) = linear(" in code
    assert "%1 : Tensor(float32, [2, 4]) = relu(%0)" in code
    assert "%3 : Tensor(float32, [2, 1]) = linear(%1," in code
