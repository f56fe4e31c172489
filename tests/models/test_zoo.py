"""Every zoo model: eager == traced interpreter (fresh inputs, another batch size), optimized ==
unoptimized (verifier after every pass), text round trip; the data-dependent `if` warns."""
import numpy as np
import pytest

import eager
import jitscript
from jitscript import TracerWarning
from jitscript.passes.memory_plan import plan_memory

from . import ZOO, get
from .if_model import negative_inputs

TRACEABLE = [e for e in ZOO if e.traceable]


def _needs(entry):
    missing = entry.missing_ops()
    if missing:
        pytest.skip(f"{entry.name} needs ops {missing}, not in the registry on this branch yet")


def _numpy(out):
    return [o.detach().numpy() for o in (out if isinstance(out, tuple) else (out,))]


def assert_close(got, want, entry):
    for g, w in zip(_numpy(got), _numpy(want)):
        np.testing.assert_allclose(g, w, rtol=entry.rtol, atol=entry.atol)


@pytest.fixture(params=TRACEABLE, ids=lambda e: e.name)
def traced(request):
    entry = request.param
    _needs(entry)
    model = entry.build()
    return entry, model, jitscript.trace(model, entry.inputs(3), dynamic_batch=True)


def test_traced_interpreter_matches_eager_on_fresh_inputs(traced):
    entry, model, sm = traced
    for batch in (3, 5):
        x = entry.inputs(batch)
        assert_close(sm(*x), model(*x), entry)


def test_optimized_matches_unoptimized(traced):
    entry, model, sm = traced
    opt = jitscript.optimize(sm)
    x = entry.inputs(4)
    assert_close(opt(*x), sm(*x), entry)
    assert len(opt.graph.block.nodes) <= len(sm.graph.block.nodes)


def test_traced_graph_text_round_trips(traced):
    entry, model, sm = traced
    for graph in (sm.graph, jitscript.optimize(sm).graph):
        text = str(graph)
        assert str(jitscript.parse(text)) == text
        jitscript.verify(jitscript.parse(text, graph.params))


def test_optimized_graph_has_a_memory_plan(traced):
    entry, model, sm = traced
    plan = plan_memory(jitscript.optimize(sm).graph, {"N": 4})
    assert 0 < plan.arena_size <= plan.unplanned_size


def test_trace_warns_on_the_data_dependent_if():
    entry = get("if_model")
    with pytest.warns(TracerWarning, match=r"bool\(tensor\) at .*if_model.py:\d+"):
        jitscript.trace(entry.build(), entry.inputs(2))


def test_trace_of_the_if_model_is_frozen_to_the_traced_branch():
    entry = get("if_model")
    model = entry.build()
    with pytest.warns(TracerWarning):
        sm = jitscript.trace(model, entry.inputs(2))
    x = negative_inputs(2)
    assert not np.allclose(sm(*x).detach().numpy(), model(*x).detach().numpy())
    x = entry.inputs(2)
    assert_close(sm(*x), model(*x), entry)


def test_batchnorm_is_folded_away_in_the_optimized_cnn():
    entry = get("cnn")
    _needs(entry)
    sm = jitscript.trace(entry.build(), entry.inputs(2), dynamic_batch=True)
    assert any(n.op == "batch_norm" for n in sm.graph.nodes())
    assert not any(n.op == "batch_norm" for n in jitscript.optimize(sm).graph.nodes())


def test_zoo_inputs_are_fresh_each_call():
    a, b = get("mlp").inputs(2)[0], get("mlp").inputs(2)[0]
    assert not np.array_equal(a.numpy(), b.numpy())
    assert isinstance(a, eager.Tensor)
