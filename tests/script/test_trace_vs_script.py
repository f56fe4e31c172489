"""The same model traced and scripted: the trace freezes the branch it saw (and warns), the
script keeps the `if`; a script called while tracing is embedded with its control flow; the
script's graph goes through the same optimization passes as a trace."""
from __future__ import annotations

import numpy as np
import pytest

import eager
import jitscript
from eager import nn

from .corpus import CASES
from .test_corpus import assert_same


class Gate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x).relu()
        return -self.fc(x)


def close(a, b) -> bool:
    return np.allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_trace_is_wrong_on_the_other_branch_and_script_is_right():
    eager.manual_seed(0)
    model = Gate()
    positive, negative = eager.randn(2, 4).abs(), -eager.randn(2, 4).abs()
    with pytest.warns(jitscript.TracerWarning):
        traced = jitscript.trace(model, positive)
    scripted = jitscript.script(model)
    assert close(traced(positive), model(positive))
    assert not close(traced(negative), model(negative))  # the frozen branch
    assert close(scripted(positive), model(positive))
    assert close(scripted(negative), model(negative))


def test_script_called_while_tracing_keeps_its_control_flow():
    eager.manual_seed(1)
    gate = jitscript.script(Gate())

    class Outer(nn.Module):
        def forward(self, x):
            return gate(x * 2) + 1

    traced = jitscript.trace(Outer().eval(), eager.randn(2, 4).abs())
    assert "prim::if" in [n.op for n in traced.graph.nodes()]
    for x in (eager.randn(2, 4).abs(), -eager.randn(2, 4).abs()):
        assert close(traced(x), gate(x * 2) + 1)


@pytest.mark.parametrize("case", [c for c in CASES if not c.raises], ids=[c.name for c in CASES if not c.raises])
def test_scripted_graph_survives_the_optimization_pipeline(case):
    eager.manual_seed(2)
    model = case.make()
    example = case.inputs[0]() if case.example else None
    optimized = jitscript.optimize(jitscript.script(model, example_inputs=example))
    for make_inputs in case.inputs:
        args = make_inputs()
        assert_same(optimized(*args), model(*args))


def test_zoo_if_model_traced_vs_scripted():
    from tests.models import if_model

    model = if_model.build()
    with pytest.warns(jitscript.TracerWarning):
        traced = jitscript.trace(model, if_model.positive_inputs(2))
    scripted = jitscript.script(model)
    negative = if_model.negative_inputs(3)
    assert not close(traced(*negative), model(*negative))
    assert close(scripted(*negative), model(*negative))
